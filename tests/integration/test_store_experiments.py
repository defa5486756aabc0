"""The experiments' and the report's SQL on both stores: assignments kept once, entries and outcomes read back.

Runs on a SQLite file and on PostgreSQL (``store_url``), like the rest of the storage contract.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import db
from mautic_ctl.store import experiments as exp_store
from mautic_ctl.store import queue as q
from mautic_ctl.store import report as report_store

T0 = 1_800_000_000.0
AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def conn(store_url: str):
    c = db.connect(store_url)
    yield c
    c.close()


def test_an_assignment_is_kept_once_and_never_overwritten(conn):
    exp_store.save(conn, [exp_store.Assignment("wx", "u1", "B", "welcome", 1)], T0)
    exp_store.save(
        conn,
        [exp_store.Assignment("wx", "u1", "A", "welcome", 2), exp_store.Assignment("wx", "u2", "A", "welcome")],
        T0,
    )
    assert exp_store.load(conn, ["u1", "u2", "u3"]) == {"u1": {"wx": "B"}, "u2": {"wx": "A"}}
    assert exp_store.counts(conn) == [
        {"experiment": "wx", "arm": "A", "users": 1},
        {"experiment": "wx", "arm": "B", "users": 1},
    ]


def _applied(conn, event: Event, result: dict) -> None:
    q.enqueue(conn, event, T0)
    (claimed,) = q.claim(conn, limit=1, lease_s=60, now=T0, owner="w")
    q.settle(conn, [q.Settlement(claimed.pk, q.Status.DONE, claimed.progress, result=result)], T0, owner="w")


def test_report_reads_entries_and_outcomes_of_applied_events(conn):
    entry = {"slot": "welcome", "campaign": None, "experiment": "wx", "arm": "holdout"}
    signup = Event(EventKind.SIGNUP, "u1", "s1", AT, email="u1@example.com", tier="free")
    _applied(conn, signup, {"transition": "signup", "entries": [entry], "tier": "free", "arms": {"wx": "holdout"}})
    upgrade = Event(EventKind.PLAN_CHANGE, "u1", "p1", AT + timedelta(days=3), tier="pro")
    _applied(
        conn,
        upgrade,
        {
            "transition": "upgrade",
            "entries": [{"slot": "onboarding:pro", "campaign": "onboarding:pro", "experiment": None, "arm": None}],
            "tier": "pro",
        },
    )
    paid = Event(EventKind.PAYMENT, "u1", "m1", AT + timedelta(days=4), amount=29.5)
    _applied(conn, paid, {"transition": "payment"})
    q.enqueue(conn, Event(EventKind.PLAN_CHANGE, "u1", "p2", AT + timedelta(days=5), tier="free"), T0)  # not applied

    rows = list(report_store.entries(conn))
    assert [(r["user_id"], r["slot"], r["campaign"], r["arm"], r["tier"]) for r in rows] == [
        ("u1", "welcome", None, "holdout", "free"),
        ("u1", "onboarding:pro", "onboarding:pro", None, "pro"),
    ]
    later = list(report_store.entries(conn, (AT + timedelta(days=1)).isoformat()))
    assert [r["slot"] for r in later] == ["onboarding:pro"]
    outcomes = sorted((u, kind, float(amount or 0)) for u, _, kind, amount in report_store.outcomes(conn))
    assert outcomes == [("u1", "payment", 29.5), ("u1", "upgrade", 0.0)]
