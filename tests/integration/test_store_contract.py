"""The storage contract beyond the queue and mirror files: schema and migrations, billing memory and
deliveries, and what each engine must promise in its own way (claim cost flat in finished rows).

Every test taking ``conn`` or ``store_url`` runs unchanged on a SQLite file and on a PostgreSQL database
(started by the suite: ``tests/postgres.py``), like huey's ``StorageTests``. SQL added to ``store/`` is
covered on both by adding a test here (or in test_store_queue / test_store_mirror) that takes ``conn``.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from mautic_ctl.errors import ConfigError, StoreError, StoreRefused
from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import billing, db
from mautic_ctl.store import queue as q
from mautic_ctl.store.schema import MIGRATIONS
from mautic_ctl.webhooks.state import Link, SubscriptionRecord
from tests.integration.test_store_queue import _fill_finished  # the same 10^n finished rows

T0 = 1_800_000_000.0
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def conn(store_url: str):
    c = db.connect(store_url)
    yield c
    c.close()


def event(user: str, n: int = 1, **kw) -> Event:
    kw.setdefault("email", f"{user}@example.com")
    return Event(kind=EventKind.SIGNUP, user_id=user, event_id=f"{user}-{n}", occurred_at=AT, source="cli", **kw)


def columns(conn) -> dict[str, list[str]]:
    """Table -> column names, from either engine's catalogue."""
    if db.on_postgres(conn):
        got = conn.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""
        ).fetchall()
    else:
        got = conn.execute(
            """SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
               WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"""
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in got:
        out.setdefault(table, []).append(column)
    out.pop("_sqlite_migrations", None)  # each engine keeps its migration record its own way
    out.pop("mautic_ctl_schema", None)
    return out


def index_names(conn) -> set[str]:
    if db.on_postgres(conn):
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'"
        names = {r[0] for r in conn.execute(sql)}
        return {n for n in names if not n.endswith("_key")}  # UNIQUE constraints' own indexes
    sql = """SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'
             AND tbl_name != '_sqlite_migrations'"""
    return {r[0] for r in conn.execute(sql)}


# --- schema and migrations ----------------------------------------------------------------------------


def test_both_engines_build_the_same_schema_from_the_same_migrations(tmp_path, pg_url):
    """Every table, column and named index of the SQLite schema exists in PostgreSQL, in the same order:
    the migrations in store/schema.py are written once and run on both."""
    lite, pg = db.connect(tmp_path / "queue.db"), db.connect(pg_url)
    try:
        assert columns(pg) == columns(lite)
        assert index_names(pg) == index_names(lite)
        applied = [r[0] for r in pg.execute("SELECT name FROM mautic_ctl_schema ORDER BY name")]
        assert applied == sorted(m.name for m in MIGRATIONS._migrations)
    finally:
        lite.close()
        pg.close()


def test_reopening_a_current_store_changes_nothing(store_url):
    """A second connect finds the schema current and runs no migration."""
    db.connect(store_url).close()
    c = db.connect(store_url)
    try:
        if db.on_postgres(c):
            stamps = c.execute("SELECT name, applied_at FROM mautic_ctl_schema ORDER BY name").fetchall()
            c.close()
            c = db.connect(store_url)
            assert c.execute("SELECT name, applied_at FROM mautic_ctl_schema ORDER BY name").fetchall() == stamps
        else:
            assert c.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    finally:
        c.close()


def test_a_store_with_a_newer_schema_is_refused(store_url):
    """A store migrated by a newer mautic-ctl is refused with one sentence and exit 2 (issue 9, hard
    case 3), never opened (an older binary would write rows the newer schema does not expect)."""
    c = db.connect(store_url)
    q.enqueue(c, event("u1"), T0)
    if db.on_postgres(c):
        c.execute("INSERT INTO mautic_ctl_schema (name, version, applied_at) VALUES ('m999_future', ?, 0)",
                  (db.SCHEMA_VERSION + 1,))  # fmt: skip
    else:
        c.execute(f"PRAGMA user_version={db.SCHEMA_VERSION + 1}")
    c.close()
    with pytest.raises(StoreError, match="newer") as info:
        db.connect(store_url)
    assert isinstance(info.value, StoreRefused) and info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_an_unreachable_postgresql_is_one_config_error(pg_server):
    """A URL naming a database that does not exist is a ConfigError naming it (without a password)."""
    url = pg_server.url("no_such_db").replace("postgres:@", "postgres:secret@")
    with pytest.raises(ConfigError, match="no_such_db") as info:
        db.connect(url)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_a_url_folded_by_a_path_still_connects(pg_url):
    """--db and [queue] db are typed as paths, which fold ``//``: the store still finds the URL."""
    from pathlib import Path

    c = db.connect(Path(pg_url))
    try:
        assert c.execute("SELECT 1").fetchone()[0] == 1
    finally:
        c.close()


# --- billing memory and deliveries ------------------------------------------------------------------


def test_billing_memory_remembers_customers_and_subscriptions(conn):
    """Customer links and subscription snapshots upsert and read back; email lookup ignores case."""
    state = billing.SqliteBillingState(conn)
    with db.write(conn):
        state.remember_link("stripe", "customer", "cus_1", user_id=None, email="a@example.com", via=None)
        state.remember_link("stripe", "customer", "cus_1", user_id="u1", email=None, via="remembered")
        state.remember_link("stripe", "customer", "cus_1", user_id="u2", email=None, via="checkout")  # re-link
        state.remember_subscription("stripe", "sub_1", SubscriptionRecord("price_pro", "pro", "active", AT))
        state.remember_subscription(
            "stripe", "sub_1", SubscriptionRecord("price_ent", "enterprise", "active", AT, 7, "evt_9")
        )
    assert state.link("stripe", "customer", "cus_1") == Link("u2", "a@example.com", "checkout")
    assert state.link("lemonsqueezy", "customer", "cus_1") is None
    assert state.subscription("stripe", "sub_1") == SubscriptionRecord(
        "price_ent", "enterprise", "active", AT, 7, "evt_9"
    )
    assert state.subscription("stripe", "sub_2") is None
    q.enqueue(conn, event("u7", email="Ada@Example.com", tier="pro"), T0)
    assert state.user_for_email("ada@example.COM") == "u7"
    assert state.known_tier("u7") == "pro"
    assert state.known_email("u7") == "Ada@Example.com"
    assert state.user_for_email("nobody@example.com") is None


def test_waiting_deliveries_are_woken_settled_and_expired(conn):
    """Waiting deliveries list per provider, settle to a new outcome, and expire by receipt time."""
    with db.write(conn):
        for key, at, customer in (("evt_w1", T0, "cus_1"), ("evt_w2", T0 + 100, "cus_2")):
            billing.insert_delivery(conn, provider="stripe", key=key, event_type="customer.subscription.updated",
                                    outcome="waiting", reason="no user yet", event_pk=None, received_at=at,
                                    body=b'{"id": "%s"}' % key.encode(), customer_id=customer)  # fmt: skip
    assert [d["delivery_id"] for d in billing.waiting_deliveries(conn, "stripe", None)] == ["evt_w1", "evt_w2"]
    assert [d["delivery_id"] for d in billing.waiting_deliveries(conn, "stripe", "cus_2")] == ["evt_w2"]
    assert billing.waiting_deliveries(conn, "lemonsqueezy", None) == []
    assert [d["reason"] for d in billing.expired_waiting(conn, T0 + 50)] == ["no user yet"]
    first = billing.get_delivery(conn, "evt_w1")
    with db.write(conn):
        billing.settle_delivery(conn, first["id"], outcome="superseded", reason="older", event_pk=None,
                                superseded_by="evt_w2")  # fmt: skip
    again = billing.get_delivery(conn, str(first["id"]))
    assert (again["outcome"], again["superseded_by"], bytes(again["body"])) == (
        "superseded",
        "evt_w2",
        b'{"id": "evt_w1"}',
    )


def test_deliveries_are_recorded_once_and_listed_by_outcome(conn):
    """A delivery id is unique per provider; its outcome, reason, event and kept body read back."""
    pk = q.enqueue(conn, event("u1"), T0).pk
    with db.write(conn):
        billing.insert_delivery(conn, provider="stripe", key="evt_1", event_type="customer.subscription.updated",
                                outcome="recorded", reason=None, event_pk=pk, received_at=T0, body=None)  # fmt: skip
        billing.insert_delivery(conn, provider="stripe", key="evt_2", event_type="invoice.paid", outcome="dead",
                                reason="no user", event_pk=None, received_at=T0 + 1, body=b'{"id": "evt_2"}')  # fmt: skip
    assert billing.seen_delivery(conn, "stripe", "evt_1") == ("recorded", None, "u1-1")
    assert billing.seen_delivery(conn, "stripe", "evt_2") == ("dead", "no user", None)
    assert billing.seen_delivery(conn, "lemonsqueezy", "evt_1") is None
    assert [d["delivery_id"] for d in billing.list_deliveries(conn, None, 10)] == ["evt_2", "evt_1"]
    assert [d["delivery_id"] for d in billing.list_deliveries(conn, "dead", 10)] == ["evt_2"]
    body = conn.execute("SELECT body FROM deliveries WHERE delivery_id = 'evt_2'").fetchone()[0]
    assert bytes(body) == b'{"id": "evt_2"}'
    with pytest.raises(Exception) as info, db.write(conn):
        billing.insert_delivery(conn, provider="stripe", key="evt_1", event_type="x", outcome="recorded",
                                reason=None, event_pk=None, received_at=T0, body=None)  # fmt: skip
    assert "unique" in str(info.value).lower()
    assert len(billing.list_deliveries(conn, None, 10)) == 2  # the failed transaction left nothing


def test_a_failed_write_transaction_leaves_nothing(conn):
    """Everything inside one write() commits together or not at all, on both engines."""
    with pytest.raises(RuntimeError), db.write(conn):
        q.insert_event(conn, event("u1"), T0)
        raise RuntimeError("boom")
    assert q.list_events(conn, status=None) == []
    assert q.enqueue(conn, event("u1"), T0).duplicate is False


def test_json_payload_queries_agree(conn):
    """json_extract over payloads (replay's payment sum, the email lookups) gives the same answers."""
    pay = [Event(kind=EventKind.PAYMENT, user_id="u1", event_id=f"p{i}", occurred_at=AT, source="cli",
                 amount=a, email="u1@example.com") for i, a in enumerate((10.5, 20.25))]  # fmt: skip
    q.enqueue_many(conn, pay, T0)
    total = conn.execute(
        "SELECT sum(CAST(json_extract(payload, '$.amount') AS REAL)) FROM events WHERE user_id = ?", ("u1",)
    ).fetchone()[0]
    assert total == pytest.approx(30.75)
    assert conn.execute("SELECT json_extract(payload, '$.missing') FROM events LIMIT 1").fetchone()[0] is None
    payload = json.loads(conn.execute("SELECT payload FROM events ORDER BY id LIMIT 1").fetchone()[0])
    assert payload["amount"] == 10.5


# --- each engine's own promise: a claim costs the same with 10^3 or 10^5 finished rows -------------------


def _pg_claim_buffers(conn) -> tuple[int, str]:
    """Shared buffers one claim touches (rolled back), and its plan."""
    from mautic_ctl.store.dialect import to_postgres

    params = {"now": T0, "lease_until": T0 + 300, "owner": "w", "limit": 200, "user_id": None}
    conn.execute("BEGIN")
    try:
        plan = conn.raw.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + to_postgres(q.SQL_CLAIM_PG), params
        ).fetchone()[0]
    finally:
        conn.execute("ROLLBACK")
    text = json.dumps(plan)

    def buffers(node: dict) -> int:
        return node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)

    return buffers(plan[0]["Plan"]), text


def test_postgresql_claim_cost_does_not_grow_with_finished_rows(pg_url):
    """The PostgreSQL claim walks the partial open-event indexes: the buffers it touches with 100,000
    finished events are about those with 1,000 (the table is never scanned)."""
    conn = db.connect(pg_url)
    try:
        q.enqueue_many(conn, [event(f"u{i}") for i in range(20)], T0)
        _fill_finished(conn, 1_000)
        conn.execute("ANALYZE events")
        small, _ = _pg_claim_buffers(conn)
        _fill_finished(conn, 99_000, start=1_000)
        conn.execute("ANALYZE events")
        large, plan = _pg_claim_buffers(conn)
        assert "events_open" in plan and '"Seq Scan"' not in plan, plan
        assert large <= small * 1.5 + 10, (small, large)
    finally:
        conn.close()


def test_sqlite_is_still_the_plain_sqlite3_connection(tmp_path):
    """The SQLite path has no wrapper (same speed as before): connect gives a sqlite3.Connection."""
    c = db.connect(tmp_path / "queue.db")
    try:
        assert type(c) is sqlite3.Connection and not db.on_postgres(c)
    finally:
        c.close()
