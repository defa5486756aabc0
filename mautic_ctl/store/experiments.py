"""Experiment assignments: one row per (experiment, user), written once, never updated."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mautic_ctl.store.db import rows, write


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    user_id: str
    arm: str
    slot: str
    event_pk: int | None = None


def load(conn: sqlite3.Connection, user_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """user id -> {experiment: arm} for the given users."""
    ids = sorted(set(user_ids))
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        sql = f"SELECT user_id, experiment, arm FROM experiment_assignments WHERE user_id IN ({marks})"
        for user_id, experiment, arm in conn.execute(sql, chunk):
            out.setdefault(user_id, {})[experiment] = arm
    return out


def save(conn: sqlite3.Connection, assignments: Sequence[Assignment], now: float) -> None:
    """Keep new assignments; an existing one is never overwritten (the first arm stands)."""
    if not assignments:
        return
    with write(conn):
        conn.executemany(
            """INSERT INTO experiment_assignments (experiment, user_id, arm, slot, assigned_at, event_pk)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (experiment, user_id) DO NOTHING""",
            [(a.experiment, a.user_id, a.arm, a.slot, now, a.event_pk) for a in assignments],
        )


def counts(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Users per (experiment, arm): what the assignment has dealt so far."""
    return rows(
        conn,
        "SELECT experiment, arm, count(*) AS users FROM experiment_assignments GROUP BY experiment, arm "
        "ORDER BY experiment, arm",
    )
