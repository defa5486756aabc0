"""What an operator does to the queue by hand — retry, replay — for the CLI and the dashboard alike.

Both go through these functions, so a retry pressed in a browser is the same transition as
`mautic-ctl queue retry`, and each is written to the operators' trail (who, what, when).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from mautic_ctl.store import queue as q
from mautic_ctl.store import views


def retry(conn: sqlite3.Connection, pks: Sequence[int] | None, *, actor: str = "cli") -> list[int]:
    """Put the given events (or every dead one, ``pks=None``) back in the queue with fresh attempts."""
    now = time.time()
    revived = q.revive(conn, pks, now)
    if revived:
        targets = ",".join(f"event:{pk}" for pk in revived[:50])
        views.record_action(conn, at=now, actor=actor, action="retry", target=targets)
    return revived


def replay(conn: sqlite3.Connection, *, since: str, user_id: str | None, actor: str = "cli") -> list[int]:
    """Re-apply finished events that occurred since ``since`` (see ``store.queue.replay``)."""
    now = time.time()
    ids = q.replay(conn, since=since, user_id=user_id, now=now)
    if ids:
        target = f"user:{user_id}" if user_id else "all users"
        views.record_action(conn, at=now, actor=actor, action="replay", target=target, detail=f"since {since}")
    return ids
