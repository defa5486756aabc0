"""The queue's lifecycle rules on both stores: consent first, coalesced logins, account erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.events import Event, EventKind
from mautic_ctl.rules import UserState
from mautic_ctl.store import db, erasure, mirror
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Settlement, Status

T0 = 1_800_000_000.0
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def conn(store_url: str):
    c = db.connect(store_url)
    yield c
    c.close()


def record(conn, kind: EventKind, n: int, user: str = "u1", **kw) -> int:
    e = Event(kind=kind, user_id=user, event_id=f"{user}-{n}", occurred_at=AT + timedelta(minutes=n), **kw)
    return q.enqueue(conn, e, T0).pk


def with_contact(conn, user: str = "u1", email: str = "ann@example.com") -> None:
    state = UserState(known=True, contact_id=7, email=email, tier="free", status="active")
    q.settle(conn, [], T0, mirror_updates=[mirror.user_params(user, state, None, T0)])


def claim(conn, now: float = T0, owner: str = "w1", limit: int = 100) -> list[q.Claimed]:
    return q.claim(conn, limit=limit, lease_s=300, now=now, owner=owner)


def test_consent_first_is_claimed_ahead_of_the_users_older_event(conn):
    """Both due: the unsubscribe goes first, alone (one event per user); the plan change follows."""
    with_contact(conn)
    change = record(conn, EventKind.PLAN_CHANGE, 1, tier="pro")
    unsub = record(conn, EventKind.UNSUBSCRIBE, 2)
    (c,) = claim(conn)
    assert c.pk == unsub
    q.settle(conn, [Settlement(unsub, Status.DONE, c.progress)], T0)
    assert [c.pk for c in claim(conn, T0 + 1)] == [change]


def test_consent_jumps_a_plan_change_waiting_out_a_backoff_but_never_runs_beside_it(conn):
    with_contact(conn)
    change = record(conn, EventKind.PLAN_CHANGE, 1, tier="pro")
    (c,) = claim(conn)  # the plan change is being applied ...
    unsub = record(conn, EventKind.UNSUBSCRIBE, 2)
    assert claim(conn, T0 + 1, owner="w2") == []  # ... so the consent event waits: one event per user in flight
    q.settle(conn, [Settlement(change, Status.PENDING, c.progress, error="503", next_attempt_at=T0 + 3600)], T0 + 2)
    assert [c.pk for c in claim(conn, T0 + 3)] == [unsub]  # the failed plan change waits an hour, consent does not


def test_consent_waits_for_the_contact_to_exist(conn):
    """No contact yet (the signup is queued): per-user order, the unsubscribe comes after the signup."""
    signup = record(conn, EventKind.SIGNUP, 1, email="ann@example.com", tier="free")
    record(conn, EventKind.UNSUBSCRIBE, 2)
    assert [c.pk for c in claim(conn)] == [signup]


def test_consent_events_keep_their_own_order(conn):
    with_contact(conn)
    record(conn, EventKind.PLAN_CHANGE, 1, tier="pro")
    first = record(conn, EventKind.UNSUBSCRIBE, 2)
    record(conn, EventKind.RESUBSCRIBE, 3)
    assert [c.pk for c in claim(conn)] == [first]


def test_a_login_brings_its_users_following_logins_up_to_the_next_other_event(conn):
    logins = [record(conn, EventKind.LOGIN, n) for n in range(1, 5)]
    change = record(conn, EventKind.PLAN_CHANGE, 5, tier="pro", email="ann@example.com")
    late = record(conn, EventKind.LOGIN, 6)
    other = record(conn, EventKind.LOGIN, 1, user="u2")
    got = {c.pk: c for c in claim(conn)}
    assert set(got) == {logins[0], other}
    assert [f.pk for f in got[logins[0]].followers] == logins[1:]
    assert got[logins[0]].effective.occurred_at == AT + timedelta(minutes=4)
    assert got[other].followers == []
    for pk in (*logins, other):
        assert conn.execute("SELECT status FROM events WHERE id = ?", (pk,)).fetchone()[0] == "processing"
    assert conn.execute("SELECT status FROM events WHERE id = ?", (change,)).fetchone()[0] == "pending"
    assert conn.execute("SELECT status FROM events WHERE id = ?", (late,)).fetchone()[0] == "pending"


def test_erasure_leaves_only_the_proof(conn):
    with_contact(conn, email="zelda@example.com")
    signup = record(conn, EventKind.SIGNUP, 1, email="zelda@example.com", first_name="Zelda", tier="free")
    delete = record(conn, EventKind.DELETE_USER, 2)
    queued = record(conn, EventKind.PLAN_CHANGE, 3, tier="pro")
    keep = record(conn, EventKind.SIGNUP, 1, user="u2", email="bob@example.com")
    with db.write(conn):
        erased, refused = erasure.erase_user(conn, "u1", delete_pk=delete, outcome="deleted", now=T0)
    assert (erased, refused) == (3, [signup, queued])  # everything still open except the deletion itself
    assert mirror.get_user(conn, "u1") is None
    rows = conn.execute("SELECT id, user_id, payload FROM events ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [signup, delete, queued, keep]
    for _pk, user, payload in rows[:3]:
        assert user == erasure.erased_id("u1") and "zelda" not in payload.lower() and "u1" not in payload
    assert "bob@example.com" in rows[3][2]
    assert erasure.erased_at(conn, "u1") == T0
    assert erasure.erased_at(conn, "u2") is None
    q.enqueue(conn, Event(EventKind.SIGNUP, "u1", "again", AT, email="z2@example.com", tier="free"), T0)
    assert erasure.erased_at(conn, "u1") is None  # it signed up again
