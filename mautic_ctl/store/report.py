"""What the lifecycle report reads: applied events that entered a campaign slot, and what users did.

Both come from the events table (status ``done``): the drain records with each applied event the
slots it entered (``result.entries``: campaign key or holdout, experiment arm, tier) and its
transition; payments carry their amount in the payload. Purging old events (`queue purge`) therefore
also shortens the history a report can see.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

OUTCOME_TRANSITIONS = ("upgrade", "downgrade", "cancel", "reactivate")


def entries(conn: sqlite3.Connection, since: str | None = None) -> Iterator[dict[str, Any]]:
    """Each applied event's campaign-slot entries: user, occurred_at, tier, and the entry itself."""
    sql = """SELECT user_id, occurred_at, json_extract(result, '$.tier') AS tier,
                    json_extract(result, '$.entries') AS entries
             FROM events WHERE status = 'done' AND json_extract(result, '$.entries') IS NOT NULL
               AND (:since IS NULL OR occurred_at >= :since)
             ORDER BY occurred_at, id"""
    for user_id, occurred_at, tier, raw in conn.execute(sql, {"since": since}):
        for entry in json.loads(raw):
            yield {"user_id": user_id, "occurred_at": occurred_at, "tier": tier, **entry}


def outcomes(conn: sqlite3.Connection, since: str | None = None) -> Iterator[tuple[str, str, str, Any]]:
    """(user id, occurred_at, transition or "payment", amount or None) of every applied transition and payment.

    The amount is a number on SQLite and JSON text on PostgreSQL: the caller reads it with ``float()``.
    """
    sql = f"""SELECT user_id, occurred_at,
                     CASE WHEN kind = 'payment' THEN 'payment' ELSE json_extract(result, '$.transition') END,
                     json_extract(payload, '$.amount')
              FROM events WHERE status = 'done' AND (:since IS NULL OR occurred_at >= :since)
                AND (kind = 'payment' OR json_extract(result, '$.transition') IN
                     ({",".join(f"'{t}'" for t in OUTCOME_TRANSITIONS)}))"""
    yield from conn.execute(sql, {"since": since})
