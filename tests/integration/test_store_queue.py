"""The queue against a real SQLite file and a real PostgreSQL database (every ``conn`` test runs on both:
the storage contract): schema, enqueue/dedupe, claim with lease and per-user order, settle, operator
commands, concurrency between connections and processes, and the claim's query plan."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mautic_ctl.errors import ConfigError
from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import db
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Progress, Settlement, Status
from mautic_ctl.store.schema import MIGRATIONS

T0 = 1_800_000_000.0  # "now" for the tests: every call gets its time passed in
OCCURRED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEASE = 300.0


@pytest.fixture
def conn(store_url: str):
    """A fresh store: a real SQLite file, then a real PostgreSQL database (the storage contract)."""
    c = db.connect(store_url)
    yield c
    c.close()


@pytest.fixture
def sqlite_conn(tmp_path: Path):
    """A fresh SQLite store, for what only SQLite has (pragmas, its query planner)."""
    c = db.connect(tmp_path / "queue.db")
    yield c
    c.close()


def event(user: str = "u1", n: int = 1, *, kind: EventKind = EventKind.SYNC_CONTACT, source: str = "cli",
          occurred: datetime = OCCURRED, email: str | None = "x@example.com", **kw) -> Event:  # fmt: skip
    return Event(
        kind=kind, user_id=user, event_id=f"{user}-e{n}", occurred_at=occurred, source=source, email=email, **kw
    )


def claim(conn, now: float = T0, limit: int = 100, owner: str = "w1", **kw) -> list[q.Claimed]:
    return q.claim(conn, limit=limit, lease_s=LEASE, now=now, owner=owner, **kw)


def claimed_ids(conn, now: float = T0, **kw) -> list[tuple[str, str]]:
    return [(c.event.user_id, c.event.event_id) for c in claim(conn, now, **kw)]


def status_of(conn, pk: int) -> str:
    return conn.execute("SELECT status FROM events WHERE id = ?", (pk,)).fetchone()[0]


def settle_one(conn, pk: int, status: Status, now: float = T0, **kw) -> None:
    q.settle(conn, [Settlement(pk, status, kw.pop("progress", Progress()), **kw)], now)


# --- connection and schema ------------------------------------------------------------------------


def test_first_connect_creates_the_schema_and_sets_user_version(tmp_path):
    """Opening a new path creates its directory, every table and index, and stamps user_version."""
    path = tmp_path / "deep" / "er" / "queue.db"
    c = db.connect(path)
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"events", "event_errors", "users", "audit", "id_cache", "deliveries", "_sqlite_migrations"} <= tables
    assert {"events_open", "events_open_user", "events_finished"} <= indexes
    assert c.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    applied = [r[0] for r in c.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == [m.name for m in MIGRATIONS._migrations]
    c.close()


def test_connection_pragmas_wal_busy_timeout_foreign_keys(sqlite_conn):
    """Every connection runs in WAL mode with a busy timeout and foreign keys on."""
    conn = sqlite_conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_reopening_does_not_migrate_again(tmp_path):
    """A second connect to a migrated file applies nothing and keeps the data."""
    path = tmp_path / "queue.db"
    c = db.connect(path)
    q.enqueue(c, event(), T0)
    c.close()
    c = db.connect(path)
    assert c.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(MIGRATIONS._migrations)
    assert c.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    c.close()


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path):
    """Pointing MAUTIC_CTL_DB at some other file is a clear ConfigError, not a traceback."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match=r"is not a mautic-ctl queue database \(file is not a database\)\.$"):
        db.connect(path)


def test_a_directory_path_is_a_config_error(tmp_path):
    """A path that cannot be opened as a file is reported with the variable to fix."""
    with pytest.raises(ConfigError, match=r"cannot open the queue database .*; check MAUTIC_CTL_DB\.$"):
        db.connect(tmp_path)


# --- enqueue and duplicates -----------------------------------------------------------------------


def test_enqueue_records_the_event_as_pending_and_due_now(conn):
    """A recorded event is pending, due at once, and its payload round-trips to the same event."""
    e = event(tier=None, fields={"lifetime_value": 12})
    got = q.enqueue(conn, e, T0)
    assert got == q.Enqueued(got.pk, False, Status.PENDING)
    row = q.get_event(conn, got.pk)
    assert (row["status"], row["attempts"], row["next_attempt_at"], row["created_at"]) == ("pending", 0, T0, T0)
    assert (row["source"], row["event_id"], row["user_id"], row["kind"]) == ("cli", "u1-e1", "u1", "sync_contact")
    assert Event.from_dict(json.loads(row["payload"])) == e
    assert row["errors"] == []


def test_duplicate_is_acknowledged_with_its_first_outcome(conn):
    """Re-sending (source, event_id) records nothing new and reports the first event's status and result."""
    first = q.enqueue(conn, event(), T0)
    again = q.enqueue(conn, event(email="other@example.com"), T0 + 1)
    assert again == q.Enqueued(first.pk, True, Status.PENDING, None)
    (c,) = claim(conn)
    settle_one(conn, c.pk, Status.DONE, result={"contact_id": 7, "transition": "sync"})
    done = q.enqueue(conn, event(), T0 + 2)
    assert done == q.Enqueued(first.pk, True, Status.DONE, {"contact_id": 7, "transition": "sync"})
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_same_event_id_from_another_source_is_a_different_event(conn):
    """The idempotency key is (source, event_id): the same id from Stripe and the CLI are two events."""
    a = q.enqueue(conn, event(source="cli"), T0)
    b = q.enqueue(conn, event(source="stripe"), T0)
    assert a.pk != b.pk and not b.duplicate


def test_enqueue_many_dedupes_within_one_batch(conn):
    """A batch holding the same event twice records it once; the second copy is a duplicate."""
    got = q.enqueue_many(conn, [event("u1", 1), event("u2", 1), event("u1", 1)], T0)
    assert [g.duplicate for g in got] == [False, False, True]
    assert got[2].pk == got[0].pk


# --- claim ----------------------------------------------------------------------------------------


def test_claim_takes_only_due_events(conn):
    """An event is not claimable before its next_attempt_at."""
    q.enqueue(conn, event(), T0)
    assert claim(conn, now=T0 - 1) == []
    assert claimed_ids(conn, now=T0) == [("u1", "u1-e1")]


def test_claim_takes_oldest_first_up_to_the_limit(conn):
    """Claims go in arrival order and stop at the limit."""
    q.enqueue_many(conn, [event(f"u{i}") for i in range(5)], T0)
    assert [c.event.user_id for c in claim(conn, limit=3)] == ["u0", "u1", "u2"]
    assert [c.event.user_id for c in claim(conn, limit=3)] == ["u3", "u4"]


def test_claim_takes_at_most_one_event_per_user(conn):
    """Of a user's several events only the oldest is claimed; other users proceed in the same claim."""
    q.enqueue_many(conn, [event("a", 1), event("a", 2), event("b", 1), event("a", 3), event("c", 1)], T0)
    assert claimed_ids(conn) == [("a", "a-e1"), ("b", "b-e1"), ("c", "c-e1")]
    assert claim(conn) == []


def test_claimed_event_carries_payload_attempts_and_lease(conn):
    """A claim returns the recorded event with attempts counted, and marks it processing under a lease."""
    e = event(first_name="Ada")
    pk = q.enqueue(conn, e, T0).pk
    (c,) = claim(conn, owner="host:1")
    assert (c.pk, c.event, c.attempts, c.progress) == (pk, e, 1, Progress())
    row = q.get_event(conn, pk)
    assert (row["status"], row["lease_owner"], row["lease_until"]) == ("processing", "host:1", T0 + LEASE)


@pytest.mark.parametrize(
    "older_state",
    ["pending-scheduled", "processing", "processing-lease-expired-but-not-yet-reclaimed"],
)
def test_later_event_of_a_user_waits_while_an_older_one_is_unfinished(conn, older_state):
    """Per-user order: a user's next event is not claimable while an older one is scheduled or in flight."""
    q.enqueue_many(conn, [event("a", 1), event("a", 2), event("b", 1)], T0)
    first = claim(conn, user_id="a")[0]
    if older_state == "pending-scheduled":
        settle_one(conn, first.pk, Status.PENDING, error="503", next_attempt_at=T0 + 600)
        assert claimed_ids(conn, now=T0 + 10) == [("b", "b-e1")]
    elif older_state == "processing":
        assert claimed_ids(conn, now=T0 + 10) == [("b", "b-e1")]
    else:
        # After the lease expires the older event itself is due again, never the newer one.
        assert claimed_ids(conn, now=T0 + LEASE + 1) == [("a", "a-e1"), ("b", "b-e1")]


@pytest.mark.parametrize("final", [Status.DONE, Status.DEAD, Status.SUPERSEDED])
def test_later_event_is_claimable_once_the_older_one_is_finished(conn, final):
    """Once the older event is done, dead or superseded, the user's next event proceeds."""
    q.enqueue_many(conn, [event("a", 1), event("a", 2)], T0)
    (first,) = claim(conn)
    settle_one(conn, first.pk, final, error="gone" if final is Status.DEAD else None)
    assert claimed_ids(conn, now=T0 + 1) == [("a", "a-e2")]


def test_claim_can_be_limited_to_one_user(conn):
    """claim(user_id=...) takes only that user's oldest due event."""
    q.enqueue_many(conn, [event("a", 1), event("b", 1)], T0)
    assert claimed_ids(conn, user_id="b") == [("b", "b-e1")]


def test_expired_lease_makes_the_event_claimable_again_and_counts_the_attempt(conn):
    """A processing event whose worker died is due again after its lease, with attempts counting up."""
    pk = q.enqueue(conn, event(), T0).pk
    assert [c.attempts for c in claim(conn, now=T0, owner="dead-worker")] == [1]
    assert claim(conn, now=T0 + LEASE - 1, owner="w2") == []  # still leased
    assert claim(conn, now=T0 + LEASE, owner="w2")[0].attempts == 2  # lease_until <= now: due
    again = claim(conn, now=T0 + 3 * LEASE, owner="w3")
    assert [(c.pk, c.attempts) for c in again] == [(pk, 3)]
    assert q.get_event(conn, pk)["lease_owner"] == "w3"


def test_extended_lease_keeps_the_event(conn):
    """A heartbeat pushes the lease out so the event is not taken over; a stranger's heartbeat is refused."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn, owner="w1")
    assert q.extend_lease(conn, [pk], until=T0 + 2 * LEASE, owner="w1") == set()
    assert claim(conn, now=T0 + LEASE + 1, owner="w2") == []
    assert q.extend_lease(conn, [pk], until=T0 + 9 * LEASE, owner="w2") == {pk}


# --- settle ---------------------------------------------------------------------------------------


def test_settle_done_records_result_progress_and_finish_time(conn):
    """Done: status, result and progress are stored, the lease is cleared, finished_at is now."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    settle_one(conn, pk, Status.DONE, now=T0 + 5, progress=Progress(["upsert"]), result={"contact_id": 3})
    row = q.get_event(conn, pk)
    assert (row["status"], row["finished_at"], row["lease_owner"], row["lease_until"]) == ("done", T0 + 5, None, None)
    assert (row["result"], row["progress"]) == ('{"contact_id": 3}', '{"done": ["upsert"]}')
    assert row["errors"] == []


def test_settle_dead_keeps_the_reason_in_the_error_history(conn):
    """Dead: the event is finished, last_error is the reason, and the history has a dead row."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    settle_one(conn, pk, Status.DEAD, now=T0 + 1, error="422 email: This field must be unique.")
    row = q.get_event(conn, pk)
    assert (row["status"], row["last_error"], row["finished_at"]) == (
        "dead",
        "422 email: This field must be unique.",
        T0 + 1,
    )
    assert row["errors"] == [
        {"at": T0 + 1, "attempt": 1, "error": "422 email: This field must be unique.", "outcome": "dead"}
    ]


def test_settle_superseded_is_finished_without_error(conn):
    """Superseded: finished, with its result, and no error history."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    settle_one(conn, pk, Status.SUPERSEDED, result={"superseded_by_event_at": "2026-12-01T00:00:00+00:00"})
    row = q.get_event(conn, pk)
    assert (row["status"], row["finished_at"], row["errors"]) == ("superseded", T0, [])


def test_retry_schedules_the_event_and_records_each_attempt(conn):
    """Pending with next_attempt_at: not due before it, due after it, and each failure is in the history."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    settle_one(conn, pk, Status.PENDING, now=T0 + 1, error="503 first", next_attempt_at=T0 + 100)
    row = q.get_event(conn, pk)
    assert (row["status"], row["next_attempt_at"], row["finished_at"], row["attempts"]) == (
        "pending",
        T0 + 100,
        None,
        1,
    )
    assert claim(conn, now=T0 + 99) == []
    (c,) = claim(conn, now=T0 + 100)
    assert c.attempts == 2
    settle_one(conn, pk, Status.DEAD, now=T0 + 101, error="gave up after 2 attempts: 503 second")
    history = [(e["attempt"], e["outcome"], e["error"]) for e in q.get_event(conn, pk)["errors"]]
    assert history == [(1, "retry", "503 first"), (2, "dead", "gave up after 2 attempts: 503 second")]


def test_rate_limit_deferral_does_not_count_as_an_attempt(conn):
    """counts_as_attempt=False gives the attempt back and records the deferral as such."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    settle_one(conn, pk, Status.PENDING, error="429", next_attempt_at=T0 + 60, counts_as_attempt=False)
    row = q.get_event(conn, pk)
    assert row["attempts"] == 0
    assert row["errors"] == [{"at": T0, "attempt": 0, "error": "429", "outcome": "deferred"}]
    assert claim(conn, now=T0 + 60)[0].attempts == 1


def test_settle_for_a_lost_lease_writes_nothing(conn):
    """With owner=, a worker whose lease was taken over cannot settle (its ids come back instead)."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn, owner="slow")
    claim(conn, now=T0 + LEASE, owner="fast")
    lost = q.settle(conn, [Settlement(pk, Status.DONE, Progress())], T0 + LEASE + 1, owner="slow")
    assert lost == {pk}
    assert status_of(conn, pk) == "processing"


def test_save_progress_survives_a_reclaim(conn):
    """Progress saved during an attempt comes back with the next claim (so done ops are not repeated)."""
    pk = q.enqueue(conn, event(), T0).pk
    claim(conn)
    q.save_progress(
        conn,
        [(pk, Progress(["upsert", "segment_add:tier:pro"], ["campaign_add:welcome"], contact_id=5))],
    )
    (c,) = claim(conn, now=T0 + LEASE)
    assert c.progress == Progress(["upsert", "segment_add:tier:pro"], ["campaign_add:welcome"], contact_id=5)


# --- operator commands ----------------------------------------------------------------------------


def _dead(conn, n: int) -> list[int]:
    pks = [g.pk for g in q.enqueue_many(conn, [event(f"d{i}") for i in range(n)], T0)]
    for c in claim(conn):
        settle_one(conn, c.pk, Status.DEAD, error="boom")
    return pks


def test_revive_given_ids_puts_only_dead_events_back(conn):
    """revive([ids]) makes those dead events pending with fresh attempts; other ids are ignored."""
    pks = _dead(conn, 3)
    done = q.enqueue(conn, event("ok"), T0).pk
    claim(conn)
    settle_one(conn, done, Status.DONE)
    assert q.revive(conn, [pks[2], pks[0], done, 9999], now=T0 + 10) == [pks[0], pks[2]]
    row = q.get_event(conn, pks[0])
    assert (row["status"], row["attempts"], row["next_attempt_at"], row["finished_at"]) == ("pending", 0, T0 + 10, None)
    assert status_of(conn, pks[1]) == "dead" and status_of(conn, done) == "done"
    assert [c.pk for c in claim(conn, now=T0 + 10)] == [pks[0], pks[2]]


def test_revive_all(conn):
    """revive(None) revives every dead event."""
    pks = _dead(conn, 4)
    assert q.revive(conn, None, now=T0) == pks
    assert q.revive(conn, None, now=T0) == []


def test_bury_new_records_straight_into_dead(conn):
    """An event that cannot be applied is recorded dead with its reason; a duplicate is not buried twice."""
    got = q.bury_new(conn, event(), "no user for customer cus_1", T0)
    assert (got.duplicate, got.status) == (False, Status.DEAD)
    row = q.get_event(conn, got.pk)
    assert (row["status"], row["last_error"], row["finished_at"]) == ("dead", "no user for customer cus_1", T0)
    assert row["errors"] == [{"at": T0, "attempt": 0, "error": "no user for customer cus_1", "outcome": "dead"}]
    again = q.bury_new(conn, event(), "other reason", T0 + 1)
    assert (again.pk, again.duplicate, again.status) == (got.pk, True, Status.DEAD)
    assert len(q.get_event(conn, got.pk)["errors"]) == 1
    assert claim(conn) == []


def test_purge_removes_old_finished_events_and_their_history(conn):
    """purge_finished deletes finished events older than the cut, with their error rows; open ones stay."""
    pks = [g.pk for g in q.enqueue_many(conn, [event(f"u{i}") for i in range(4)], T0)]
    c = {x.pk: x for x in claim(conn)}
    settle_one(conn, pks[0], Status.DONE, now=T0 + 1)
    settle_one(conn, pks[1], Status.DEAD, now=T0 + 1, error="x")
    settle_one(conn, pks[2], Status.DONE, now=T0 + 50)
    assert pks[3] in c  # still processing
    assert q.purge_finished(conn, before=T0 + 10, statuses=[Status.DONE]) == 1
    assert q.purge_finished(conn, before=T0 + 10, statuses=[Status.DONE, Status.DEAD]) == 1
    assert [r["id"] for r in q.list_events(conn, status=None)] == [pks[3], pks[2]]
    assert conn.execute("SELECT count(*) FROM event_errors").fetchone()[0] == 0


def test_list_events_filters_by_status_and_user_newest_first(conn):
    """list_events gives the newest first, filtered by status and user, up to the limit."""
    pks = [g.pk for g in q.enqueue_many(conn, [event("a", 1), event("b", 1), event("a", 2), event("a", 3)], T0)]
    claim(conn, user_id="b")
    settle_one(conn, pks[1], Status.DEAD, error="bad")
    assert [r["id"] for r in q.list_events(conn, status=None)] == pks[::-1]
    assert [r["id"] for r in q.list_events(conn, status=Status.PENDING, user_id="a", limit=2)] == [pks[3], pks[2]]
    (dead,) = q.list_events(conn, status=Status.DEAD)
    assert (dead["id"], dead["user_id"], dead["last_error"], dead["attempts"]) == (pks[1], "b", "bad", 1)
    assert q.get_event(conn, 424242) is None


def test_stats_counts_states_due_events_and_the_next_attempt(conn):
    """stats reports counts per status, how many are due, the oldest due age and the next scheduled time."""
    assert q.stats(conn, T0) == {
        "counts": {"pending": 0, "processing": 0, "done": 0, "dead": 0, "superseded": 0},
        "due": 0, "oldest_due_age_s": None, "next_attempt_at": None,
    }  # fmt: skip
    pks = [g.pk for g in q.enqueue_many(conn, [event("a"), event("b"), event("c"), event("d")], T0)]
    claim(conn, limit=3)
    settle_one(conn, pks[0], Status.DONE)
    settle_one(conn, pks[1], Status.PENDING, error="503", next_attempt_at=T0 + 500)
    s = q.stats(conn, T0 + 30)
    assert s["counts"] == {"pending": 2, "processing": 1, "done": 1, "dead": 0, "superseded": 0}
    assert (s["due"], s["oldest_due_age_s"], s["next_attempt_at"]) == (1, 30.0, T0)
    assert q.stats(conn, T0 + LEASE + 1)["due"] == 2  # the processing one's lease expired


def test_user_has_email_from_mirror_or_a_live_event(conn):
    """A contact can be created when the mirror or a non-dead recorded event holds an email."""
    assert not q.user_has_email(conn, "u1")
    q.enqueue(conn, event("u1", email=None), T0)
    assert not q.user_has_email(conn, "u1")
    q.bury_new(conn, event("u1", 2, email="u1@example.com"), "dead on arrival", T0)
    assert not q.user_has_email(conn, "u1")  # a dead event's email does not count
    q.enqueue(conn, event("u1", 3, email="u1@example.com"), T0)
    assert q.user_has_email(conn, "u1")
    conn.execute("INSERT INTO users (user_id, contact_id) VALUES ('u2', 12)")
    assert q.user_has_email(conn, "u2")
    conn.execute("INSERT INTO users (user_id) VALUES ('u3')")
    assert not q.user_has_email(conn, "u3")


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_claims_never_hand_out_the_same_event(store_url):
    """Threads, each with its own connection, claim and settle until empty: each event is taken exactly once,
    and no user ever has two events in flight."""
    path = store_url
    setup = db.connect(path)
    events = [event(f"user{i % 60}", i) for i in range(360)]  # 6 events per user
    q.enqueue_many(setup, events, T0)
    setup.close()
    taken: list[int] = []
    sequence: list[tuple[str, int]] = []  # (user, pk) in the order claims committed
    in_flight: set[str] = set()
    violations: list[str] = []
    guard = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            c = db.connect(path)
            while True:
                got = q.claim(c, limit=4, lease_s=3600, now=T0, owner=name)
                if not got:
                    left = c.execute("SELECT count(*) FROM events WHERE status != 'done'").fetchone()[0]
                    if left == 0:
                        break
                    continue
                with guard:
                    for x in got:
                        taken.append(x.pk)
                        sequence.append((x.event.user_id, x.pk))
                        if x.event.user_id in in_flight:
                            violations.append(x.event.user_id)
                        in_flight.add(x.event.user_id)
                with guard:  # leave in_flight before the settle commits, so a later claim is never a false alarm
                    for x in got:
                        in_flight.discard(x.event.user_id)
                q.settle(c, [Settlement(x.pk, Status.DONE, Progress()) for x in got], T0, owner=name)
            c.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(taken) == len(set(taken)) == len(events)
    assert violations == []
    per_user: dict[str, list[int]] = {}
    for user, pk in sequence:
        per_user.setdefault(user, []).append(pk)
    assert all(pks == sorted(pks) for pks in per_user.values())  # each user's events in arrival order


def _open_fresh(path: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=30)
        c = db.connect(Path(path))
        results.put(
            ("ok", c.execute("PRAGMA user_version").fetchone()[0], c.execute("PRAGMA journal_mode").fetchone()[0])
        )
        c.close()
    except BaseException as exc:  # report, do not hang the parent
        results.put(("error", type(exc).__name__, str(exc)))


def test_eight_processes_opening_a_fresh_db_migrate_it_exactly_once(tmp_path):
    """Eight processes opening the same new file at the same moment all succeed, and each migration runs once
    (repeated over several fresh files: the race on switching a new file to WAL is intermittent)."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(12):
        path = str(tmp_path / f"fresh{round_}.db")
        barrier, results = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_open_fresh, args=(path, barrier, results)) for _ in range(8)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert outcomes == [("ok", db.SCHEMA_VERSION, "wal")] * 8, (round_, outcomes)
        check = sqlite3.connect(path)
        names = [r[0] for r in check.execute("SELECT name FROM _sqlite_migrations")]
        assert sorted(names) == sorted(m.name for m in MIGRATIONS._migrations)
        check.close()


def test_switching_to_wal_retries_when_sqlite_answers_locked_at_once():
    """SQLite refuses the WAL switch with "locked" without waiting when two openers would deadlock:
    connect retries it instead of failing."""

    class Flaky:
        calls = 0

        def execute(self, sql):
            self.calls += 1
            if self.calls < 3:
                raise sqlite3.OperationalError("database is locked")
            return sql

    conn = Flaky()
    db._retry_locked(conn, "PRAGMA journal_mode=WAL")  # type: ignore[arg-type]
    assert conn.calls == 3
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        db._retry_locked(sqlite3.connect(":memory:"), "SELECT * FROM missing")


# --- the claim's query plan -----------------------------------------------------------------------

CLAIM_PARAMS = {"now": T0, "lease_until": T0 + LEASE, "owner": "w", "limit": 200, "user_id": None}


def _plan(conn) -> list[str]:
    return [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + q.SQL_CLAIM, CLAIM_PARAMS)]


def _fill_finished(conn, n: int, start: int = 0) -> None:
    rows = [("cli", f"old{i}", f"old-user{i % 500}", "sync_contact", "{}", "2026-01-01T00:00:00+00:00", "done", T0, T0, T0, T0)
            for i in range(start, start + n)]  # fmt: skip
    with db.write(conn):
        conn.executemany(
            """INSERT INTO events (source, event_id, user_id, kind, payload, occurred_at, status, next_attempt_at,
                                   created_at, updated_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
            rows,
        )


def _claim_cost(conn) -> int:
    """SQLite VM steps one claim takes (rolled back, so it can be measured again)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 1)
    try:
        conn.execute("BEGIN IMMEDIATE")
        got = conn.execute(q.SQL_CLAIM, CLAIM_PARAMS).fetchall()
        conn.execute("ROLLBACK")
    finally:
        conn.set_progress_handler(None, 1)
    assert len(got) == 20
    return steps


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "after-ANALYZE"])
def test_claim_uses_the_partial_open_indexes(sqlite_conn, analyzed):
    """The claim walks events_open and probes events_open_user, never scanning the events table,
    with or without ANALYZE statistics (which otherwise tempt SQLite into a full scan)."""
    conn = sqlite_conn
    _fill_finished(conn, 3000)
    q.enqueue_many(conn, [event(f"u{i}") for i in range(20)], T0)
    if analyzed:
        conn.execute("ANALYZE")
    plan = _plan(conn)
    assert any("USING INDEX events_open" in step and "events_open_user" not in step for step in plan), plan
    assert any("USING INDEX events_open_user" in step for step in plan), plan
    assert not any(step in ("SCAN e", "SCAN o", "SCAN events") for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_claim_cost_does_not_grow_with_finished_rows(sqlite_conn):
    """A claim costs the same number of SQLite steps with 200 or 20,000 finished events in the table."""
    conn = sqlite_conn
    q.enqueue_many(conn, [event(f"u{i}") for i in range(20)], T0)
    _fill_finished(conn, 200)
    small = _claim_cost(conn)
    _fill_finished(conn, 19_800, start=200)
    conn.execute("ANALYZE")
    large = _claim_cost(conn)
    assert large <= small * 1.2, (small, large)


def test_replay_requeues_done_events_since_a_time(conn):
    """replay puts done (and superseded) events since T back to pending, flagged as replays; older ones stay."""
    old = event("a", 1, occurred=OCCURRED - timedelta(days=10))
    new = event("a", 2, occurred=OCCURRED)
    sup = event("b", 1, occurred=OCCURRED + timedelta(hours=1))
    dead = event("c", 1, occurred=OCCURRED)
    pks = [g.pk for g in q.enqueue_many(conn, [old, new, sup, dead], T0)]
    for status, pk in zip((Status.DONE, Status.DONE, Status.SUPERSEDED, Status.DEAD), pks, strict=True):
        claim(conn, now=T0 + pk)
        settle_one(
            conn, pk, status, now=T0 + pk, progress=Progress(["upsert"]), error="x" if status is Status.DEAD else None
        )
    since = (OCCURRED - timedelta(days=1)).isoformat()
    assert q.replay(conn, since=since, user_id=None, now=T0 + 100) == [pks[1], pks[2]]
    row = q.get_event(conn, pks[1])
    assert (row["status"], row["attempts"], row["progress"], row["finished_at"]) == (
        "pending",
        0,
        '{"replay": true}',
        None,
    )
    assert [status_of(conn, pks[0]), status_of(conn, pks[3])] == ["done", "dead"]
    assert [c.progress for c in claim(conn, now=T0 + 100)] == [Progress(replay=True), Progress(replay=True)]


def test_replay_can_be_limited_to_one_user(conn):
    """replay(user_id=...) touches only that user's events."""
    pks = [g.pk for g in q.enqueue_many(conn, [event("a"), event("b")], T0)]
    for c in claim(conn):
        settle_one(conn, c.pk, Status.DONE)
    assert q.replay(conn, since="2000-01-01", user_id="b", now=T0) == [pks[1]]
    assert status_of(conn, pks[0]) == "done"


def test_revive_acts_on_any_event_that_is_not_done(conn):
    """Issue 9, hard case 1: a waiting (pending, deferred) event is due again at once, as is one whose
    worker died (lease expired); done, superseded and live-leased events are left as they are."""
    orphan, waiting, dead, live, done, superseded = (q.enqueue(conn, event(f"r{i}"), T0).pk for i in range(6))
    assert [c.pk for c in claim(conn, limit=1)] == [orphan]  # its worker dies: leased until T0 + LEASE
    assert {c.pk for c in claim(conn, now=T0 + 250)} == {waiting, dead, live, done, superseded}
    q.settle(conn, [Settlement(waiting, Status.PENDING, Progress(), error="429", next_attempt_at=10**11)], T0 + 250)
    settle_one(conn, dead, Status.DEAD, error="boom")
    settle_one(conn, done, Status.DONE)
    settle_one(conn, superseded, Status.SUPERSEDED)
    now = T0 + LEASE + 1
    assert q.revive(conn, [waiting, dead, live, orphan, done, superseded], now=now) == sorted([waiting, dead, orphan])
    for pk in (waiting, dead, orphan):
        row = q.get_event(conn, pk)
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 0, now)
    assert [status_of(conn, pk) for pk in (live, done, superseded)] == ["processing", "done", "superseded"]
    assert {c.pk for c in claim(conn, now=now)} == {waiting, dead, orphan}
