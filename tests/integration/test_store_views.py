"""The dashboard's read models on both stores: batch calls linked to each event, activity per hour,
filtered event lists, the operators' trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import db, mirror, views
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Progress, Settlement, Status

T0 = 1_800_000_000.0


@pytest.fixture
def conn(store_url: str):
    c = db.connect(store_url)
    yield c
    c.close()


def ev(user: str, n: int, kind: EventKind = EventKind.SYNC_CONTACT) -> Event:
    when = datetime(2027, 1, 15, 12, n, tzinfo=UTC)
    return Event(kind=kind, user_id=user, event_id=f"{user}-{n}", occurred_at=when, source="cli", email="x@example.com")


def test_a_batch_call_is_listed_for_every_event_it_served(conn):
    pks = [g.pk for g in q.enqueue_many(conn, [ev("a", 1), ev("b", 1), ev("c", 1)], T0)]
    mirror.write_audit(
        conn,
        [
            (T0, "POST", "/api/contacts/batch/new", 201, 30.0, tuple(pks[:2]), None),
            (T0 + 1, "DELETE", "/api/segments/3/contact/7/remove", 404, 9.0, pks[2], "not found"),
        ],
    )
    assert [c["path"] for c in views.calls_of_event(conn, pks[0])] == ["/api/contacts/batch/new"]
    assert [c["path"] for c in views.calls_of_event(conn, pks[1])] == ["/api/contacts/batch/new"]
    assert [(c["path"], c["status"]) for c in views.calls_of_event(conn, pks[2])] == [
        ("/api/segments/3/contact/7/remove", 404)
    ]
    assert len(mirror.recent_audit(conn)) == 2  # one row per call, however many events it served


def test_applied_per_hour_counts_done_events_by_the_hour_they_finished(conn):
    pks = [g.pk for g in q.enqueue_many(conn, [ev("a", 1), ev("b", 1), ev("c", 1), ev("d", 1)], T0)]
    q.claim(conn, limit=10, lease_s=60, now=T0, owner="w")
    hour = int(T0 // 3600) * 3600
    q.settle(conn, [Settlement(pks[0], Status.DONE, Progress())], hour + 10)
    q.settle(conn, [Settlement(pks[1], Status.DONE, Progress())], hour + 3599)
    q.settle(conn, [Settlement(pks[2], Status.DONE, Progress())], hour + 3600 + 5)
    q.settle(conn, [Settlement(pks[3], Status.DEAD, Progress(), error="x")], hour + 20)
    got = views.applied_per_hour(conn, since=hour - 3600, now=hour + 3600 + 30)
    assert got == [(float(hour - 3600), 0), (float(hour), 2), (float(hour + 3600), 1)]


def test_search_events_filters_and_pages_by_id(conn):
    events = [ev("a", 1, EventKind.SIGNUP), ev("a", 2), ev("b", 1, EventKind.SIGNUP), ev("b", 2)]
    pks = [g.pk for g in q.enqueue_many(conn, events, T0)]
    assert [e["id"] for e in views.search_events(conn, views.EventFilter(kind="signup"))] == [pks[2], pks[0]]
    assert [e["id"] for e in views.search_events(conn, views.EventFilter(user_id="a"))] == [pks[1], pks[0]]
    page1 = views.search_events(conn, views.EventFilter(), limit=2)
    page2 = views.search_events(conn, views.EventFilter(before_id=page1[-1]["id"]), limit=2)
    assert [e["id"] for e in page1 + page2] == sorted(pks, reverse=True)
    since = views.EventFilter(since="2027-01-15T12:02:00+00:00")
    assert {e["id"] for e in views.search_events(conn, since)} == {pks[1], pks[3]}


def test_operator_actions_are_kept_newest_first(conn):
    views.record_action(conn, at=T0, actor="cli", action="retry", target="event:1")
    views.record_action(conn, at=T0 + 1, actor="dashboard:127.0.0.1", action="replay", target="user:u1", detail="x")
    got = views.recent_actions(conn)
    assert [(a["actor"], a["action"], a["target"]) for a in got] == [
        ("dashboard:127.0.0.1", "replay", "user:u1"),
        ("cli", "retry", "event:1"),
    ]
    assert [a["action"] for a in views.user_story(conn, "u1")["actions"]] == ["replay"]
