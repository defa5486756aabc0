"""Read models for people: filtered event lists, one event's calls, one user's story, activity per hour.

Every query here is bounded (a LIMIT, or a time range on an index), so a page over a store with 10^5+
events costs milliseconds. Nothing here writes, except ``record_action`` (the operators' own trail).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from mautic_ctl.store.db import rows, write


@dataclass(frozen=True, slots=True)
class EventFilter:
    status: str | None = None
    kind: str | None = None
    source: str | None = None
    user_id: str | None = None
    since: str | None = None  # ISO 8601: occurred at or after
    until: str | None = None  # ISO 8601: occurred before
    before_id: int | None = None  # keyset pagination: only events with a smaller id


def search_events(conn: sqlite3.Connection, flt: EventFilter, *, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; keyset-paginated by id so page N costs what page 1 costs."""
    where, params = [], []
    for column, value in (("status", flt.status), ("kind", flt.kind), ("source", flt.source), ("user_id", flt.user_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if flt.since:
        where.append("occurred_at >= ?")
        params.append(flt.since)
    if flt.until:
        where.append("occurred_at < ?")
        params.append(flt.until)
    if flt.before_id is not None:
        where.append("id < ?")
        params.append(flt.before_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return rows(
        conn,
        f"""SELECT id, source, event_id, user_id, kind, occurred_at, status, attempts, next_attempt_at,
                   last_error, finished_at FROM events {clause} ORDER BY id DESC LIMIT ?""",
        (*params, limit),
    )


def calls_of_event(conn: sqlite3.Connection, pk: int, *, limit: int = 500) -> list[dict[str, Any]]:
    return rows(
        conn,
        """SELECT at, method, path, status, duration_ms, error FROM audit WHERE id IN (
               SELECT id FROM audit WHERE event_pk = :pk
               UNION SELECT audit_id FROM audit_events WHERE event_pk = :pk)
           ORDER BY id LIMIT :limit""",
        {"pk": pk, "limit": limit},
    )


def user_story(conn: sqlite3.Connection, user_id: str, *, limit: int = 200) -> dict[str, Any]:
    """A user's events (oldest first), each with its errors and Mautic calls, and the operators' actions."""
    events = rows(
        conn,
        """SELECT id, source, event_id, kind, payload, occurred_at, status, attempts, result, last_error,
                  created_at, finished_at FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?""",
        (user_id, limit),
    )
    events.reverse()
    for event in events:
        event["payload"] = json.loads(event["payload"])
        event["result"] = json.loads(event["result"]) if event["result"] else None
        event["calls"] = calls_of_event(conn, event["id"], limit=50)
    actions = rows(
        conn,
        "SELECT at, actor, action, target, detail FROM operator_actions WHERE target LIKE ? ORDER BY id",
        (f"%user:{user_id}%",),
    )
    return {"events": events, "actions": actions}


def applied_per_hour(conn: sqlite3.Connection, *, since: float, now: float) -> list[tuple[float, int]]:
    """(hour start, events finished as done in that hour) for every hour in [since, now], zeros included."""
    got = dict(
        conn.execute(
            """SELECT CAST(finished_at AS INTEGER) / 3600 * 3600, count(*) FROM events
               WHERE status = 'done' AND finished_at >= ? GROUP BY 1""",
            (since,),
        ).fetchall()
    )
    first = int(since // 3600) * 3600
    return [(float(hour), got.get(hour, 0)) for hour in range(first, int(now) + 1, 3600)]


def last_activity(conn: sqlite3.Connection) -> dict[str, Any]:
    """When Mautic was last called and how that went; when an event last finished."""
    call = conn.execute("SELECT at, method, path, status, error FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    finished = conn.execute("SELECT max(finished_at) FROM events WHERE finished_at IS NOT NULL").fetchone()[0]
    return {"last_call": dict(call) if call else None, "last_finished_at": finished}


def record_action(
    conn: sqlite3.Connection, *, at: float, actor: str, action: str, target: str, detail: str | None = None
) -> None:
    with write(conn):
        conn.execute(
            "INSERT INTO operator_actions (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (at, actor, action, target, detail),
        )


def recent_actions(conn: sqlite3.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    return rows(
        conn, "SELECT at, actor, action, target, detail FROM operator_actions ORDER BY id DESC LIMIT ?", (limit,)
    )
