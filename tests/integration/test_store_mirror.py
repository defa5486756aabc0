"""The per-user mirror, the audit log and the id cache, against a real SQLite file and a real PostgreSQL
database (every ``conn`` test runs on both: the storage contract)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.events import Event, EventKind
from mautic_ctl.rules import UserState
from mautic_ctl.store import db, mirror
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Progress, Settlement, Status

T0 = 1_800_000_000.0
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PRO = UserState(
    known=True, contact_id=7, email="ada@example.com", tier="pro", status="active",
    segments=frozenset({"tier:pro", "new_users"}), campaigns=frozenset({"welcome", "onboarding:pro"}),
    lifetime_value=30.0,
)  # fmt: skip


@pytest.fixture
def conn(store_url: str):
    """A fresh store: a real SQLite file, then a real PostgreSQL database (the storage contract)."""
    c = db.connect(store_url)
    yield c
    c.close()


def upsert(conn, user: str, state: UserState, last: datetime | None, now: float = T0) -> None:
    """Write one mirror row through settle (its only writer), with no event to settle."""
    q.settle(conn, [], now, mirror_updates=[mirror.user_params(user, state, last, now)])


def claimed_pk(conn, e: Event) -> int:
    pk = q.enqueue(conn, e, T0).pk
    assert [c.pk for c in q.claim(conn, limit=1, lease_s=60, now=T0, owner="w", user_id=e.user_id)] == [pk]
    return pk


def event(
    user: str = "u1", n: int = 1, kind: EventKind = EventKind.PLAN_CHANGE, occurred: datetime = AT, **kw
) -> Event:
    kw.setdefault("tier", "pro" if kind is EventKind.PLAN_CHANGE else None)
    return Event(kind=kind, user_id=user, event_id=f"{user}-{n}", occurred_at=occurred, email="ada@example.com", **kw)


# --- the mirror, written with the settlement ------------------------------------------------------


def test_settle_writes_the_mirror_with_the_event_in_one_transaction(conn):
    """A done event and its user's new mirror row are committed together."""
    pk = claimed_pk(conn, event())
    q.settle(
        conn,
        [Settlement(pk, Status.DONE, Progress())],
        T0 + 1,
        mirror_updates=[mirror.user_params("u1", PRO, AT, T0 + 1)],
    )
    assert q.get_event(conn, pk)["status"] == "done"
    assert mirror.get_user(conn, "u1") == {
        "user_id": "u1", "email": "ada@example.com", "contact_id": 7, "tier": "pro", "status": "active",
        "segments": ["new_users", "tier:pro"], "campaigns": ["onboarding:pro", "welcome"], "lifetime_value": 30.0,
        "last_event_at": AT.isoformat(), "last_synced_at": T0 + 1, "first_hand": 1,
        "last_login": None, "unsubscribed": None, "consent_at": None, "counts": {},
    }  # fmt: skip


def test_a_failing_settlement_rolls_the_mirror_back_too(conn):
    """If any part of the settle fails, neither the mirror nor the event changes."""
    pk = claimed_pk(conn, event())
    bad = Settlement(pk, Status.DONE, Progress(contact_id=object()))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        q.settle(conn, [bad], T0, mirror_updates=[mirror.user_params("u1", PRO, AT, T0)])
    assert mirror.get_user(conn, "u1") is None
    assert q.get_event(conn, pk)["status"] == "processing"


def test_last_event_at_never_moves_backwards(conn):
    """An update carrying an older (or no) event time keeps the newest last_event_at, while other columns update."""
    upsert(conn, "u1", PRO, AT)
    older = UserState(known=True, contact_id=7, email="ada@example.com", tier="free", status="active")
    upsert(conn, "u1", older, AT - timedelta(days=1), now=T0 + 1)
    row = mirror.get_user(conn, "u1")
    assert (row["tier"], row["last_event_at"], row["last_synced_at"]) == ("free", AT.isoformat(), T0 + 1)
    upsert(conn, "u1", older, None, now=T0 + 2)
    assert mirror.get_user(conn, "u1")["last_event_at"] == AT.isoformat()
    later = AT + timedelta(microseconds=500_000)
    upsert(conn, "u1", older, later, now=T0 + 3)
    assert mirror.get_user(conn, "u1")["last_event_at"] == later.isoformat()


def test_last_event_at_stays_null_when_no_event_time_is_known(conn):
    """A user updated only by events without a state time (payments) has no last_event_at, not ''."""
    upsert(conn, "u1", PRO, None)
    upsert(conn, "u1", PRO, None, now=T0 + 1)
    assert mirror.get_user(conn, "u1")["last_event_at"] is None
    assert mirror.load_users(conn, ["u1"])["u1"].last_event_at is None


def test_load_users_rebuilds_state_for_many_users(conn):
    """load_users returns each known user's state (in chunks past SQLite's parameter limit); strangers are absent."""
    updates = [mirror.user_params(f"u{i}", PRO, AT + timedelta(seconds=i), T0) for i in range(1200)]
    q.settle(conn, [], T0, mirror_updates=updates)
    users = mirror.load_users(conn, [f"u{i}" for i in range(0, 1300, 2)])
    assert len(users) == 600 and "u1202" not in users
    row = users["u1198"]
    assert row.state == PRO
    assert row.last_event_at == AT + timedelta(seconds=1198)


def test_mirror_state_without_tier_or_status_is_not_known(conn):
    """A row holding only a contact id (e.g. after a replay) reads back as not yet known."""
    upsert(conn, "u1", UserState(contact_id=9, email="a@b.co"), None)
    state = mirror.load_users(conn, ["u1"])["u1"].state
    assert (state.known, state.contact_id, state.email, state.segments) == (False, 9, "a@b.co", frozenset())


def test_user_for_email_is_case_insensitive_and_prefers_the_latest_sync(conn):
    """A billing webhook's email finds the user, whatever its case; the most recently synced user wins."""
    upsert(conn, "old", PRO, AT, now=T0)
    upsert(conn, "new", PRO, AT, now=T0 + 10)
    assert mirror.user_for_email(conn, "ADA@Example.com") == "new"
    assert mirror.user_for_email(conn, "nobody@example.com") is None


# --- replay forgets what the mirror knew ----------------------------------------------------------


def test_replay_forgets_memberships_but_keeps_the_contact(conn):
    """Replayed users lose tier, status, segments, campaigns and last_event_at; contact id and email stay."""
    pk = claimed_pk(conn, event("u1"))
    q.settle(
        conn, [Settlement(pk, Status.DONE, Progress())], T0, mirror_updates=[mirror.user_params("u1", PRO, AT, T0)]
    )
    upsert(conn, "other", PRO, AT)
    assert q.replay(conn, since=(AT - timedelta(hours=1)).isoformat(), user_id=None, now=T0 + 5) == [pk]
    row = mirror.get_user(conn, "u1")
    assert (row["tier"], row["status"], row["segments"], row["campaigns"], row["last_event_at"]) == (
        None,
        None,
        [],
        [],
        None,
    )
    assert (row["contact_id"], row["email"]) == (7, "ada@example.com")
    assert mirror.get_user(conn, "other")["segments"] == ["new_users", "tier:pro"]  # not replayed: untouched


def test_replay_takes_replayed_payments_out_of_the_lifetime_value(conn):
    """A replayed payment will be added again, so the mirror's lifetime value drops by it first (no double count)."""
    early = event("u1", 1, EventKind.PAYMENT, occurred=AT - timedelta(days=30), amount=10.0)
    late = event("u1", 2, EventKind.PAYMENT, occurred=AT, amount=20.25)
    for e, ltv in ((early, 10.0), (late, 30.25)):
        pk = claimed_pk(conn, e)
        state = UserState(
            known=True, contact_id=7, email="ada@example.com", tier="pro", status="active", lifetime_value=ltv
        )
        q.settle(
            conn,
            [Settlement(pk, Status.DONE, Progress())],
            T0,
            mirror_updates=[mirror.user_params("u1", state, None, T0)],
        )
    replayed = q.replay(conn, since=(AT - timedelta(days=1)).isoformat(), user_id="u1", now=T0)
    assert len(replayed) == 1
    assert mirror.get_user(conn, "u1")["lifetime_value"] == 10.0  # re-applying the 20.25 payment gives 30.25 again


# --- audit log ------------------------------------------------------------------------------------


def test_audit_rows_are_written_and_listed_newest_first(conn):
    """Each Mautic call is one audit row; recent_audit lists the newest first, up to the limit."""
    mirror.write_audit(conn, [])
    assert mirror.recent_audit(conn) == []
    records = [
        (T0, "POST", "/api/contacts/new", 201, 31.5, 1, None),
        (T0 + 1, "POST", "/api/segments/3/contact/7/add", 200, 12.0, 1, None),
        (T0 + 2, "PATCH", "/api/contacts/7/edit", 503, 1000.0, 2, "503 Service Unavailable"),
    ]
    mirror.write_audit(conn, records)
    got = mirror.recent_audit(conn, limit=2)
    assert [(r["method"], r["path"], r["status"], r["error"]) for r in got] == [
        ("PATCH", "/api/contacts/7/edit", 503, "503 Service Unavailable"),
        ("POST", "/api/segments/3/contact/7/add", 200, None),
    ]
    assert len(mirror.recent_audit(conn)) == 3


# --- id cache -------------------------------------------------------------------------------------


def test_cached_id_expires_after_its_ttl(conn):
    """A resolved name is served from the cache up to max_age seconds, then treated as unknown."""
    assert mirror.cached_id(conn, "segment", "Pro users", max_age=3600, now=T0) is None
    mirror.cache_ids(conn, "segment", {"Pro users": 12, "Free users": 11}, T0)
    assert mirror.cached_id(conn, "segment", "Pro users", max_age=3600, now=T0 + 3600) == 12
    assert mirror.cached_id(conn, "segment", "Pro users", max_age=3600, now=T0 + 3601) is None
    assert mirror.cached_id(conn, "segment", "Pro users", max_age=0, now=T0) == 12


def test_cache_ids_refreshes_and_keeps_kinds_apart(conn):
    """Caching again replaces the id and its time; a campaign and a segment of the same name are distinct."""
    mirror.cache_ids(conn, "segment", {"Welcome": 1}, T0)
    mirror.cache_ids(conn, "campaign", {"Welcome": 5}, T0)
    mirror.cache_ids(conn, "segment", {"Welcome": 2}, T0 + 100)
    assert mirror.cached_id(conn, "segment", "Welcome", max_age=10, now=T0 + 105) == 2
    assert mirror.cached_id(conn, "campaign", "Welcome", max_age=10, now=T0 + 105) is None
    assert mirror.cached_id(conn, "campaign", "Welcome", max_age=10, now=T0 + 5) == 5
    stored = conn.execute("SELECT kind, name, mautic_id FROM id_cache ORDER BY kind").fetchall()
    assert [tuple(r) for r in stored] == [("campaign", "Welcome", 5), ("segment", "Welcome", 2)]


def test_user_params_serialise_sets_in_a_stable_order():
    """Segments and campaigns are stored as sorted JSON lists, so equal states write equal rows."""
    params = mirror.user_params("u1", PRO, AT, T0)
    assert json.loads(params["segments"]) == ["new_users", "tier:pro"]
    assert json.loads(params["campaigns"]) == ["onboarding:pro", "welcome"]
    assert params["last_event_at"] == "2026-11-26T12:00:00+00:00"
