"""The history of `queue run`: when each finished and with which exit code (monitoring reads the last)."""

from __future__ import annotations

import sqlite3
from typing import Any

from mautic_ctl.store.db import rows, write

KEEP = 1000  # runs kept; a cron run every minute keeps the last ~17 hours


def record_run(
    conn: sqlite3.Connection,
    *,
    started_at: float,
    finished_at: float,
    exit_code: int,
    applied: int,
    dead: int,
    error: str | None,
) -> None:
    with write(conn):
        conn.execute(
            "INSERT INTO runs (started_at, finished_at, exit_code, applied, dead, error) VALUES (?, ?, ?, ?, ?, ?)",
            (started_at, finished_at, exit_code, applied, dead, error),
        )
        conn.execute("DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - ?", (KEEP,))


def last_run(conn: sqlite3.Connection) -> dict[str, Any] | None:
    found = rows(conn, "SELECT * FROM runs ORDER BY id DESC LIMIT 1")
    return found[0] if found else None
