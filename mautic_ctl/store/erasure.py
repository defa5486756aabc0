"""Account erasure in the local store: after `delete-user`, nothing personal of the user is left.

What goes: the mirror row (email, contact id, memberships), every event payload of the user (emails,
names, fields, properties), their error texts, webhook bodies and reasons that name the user's
addresses, and the billing customer links. What stays, as proof: a hash of the user id, when, and the
outcome. Events of the user keep their place in the queue (statuses, attempts, Mautic calls in the
audit) under the hashed user id, so counts and history still add up.

``PRAGMA secure_delete`` (set on every connection) zeroes the old content instead of leaving it in
free space; ``checkpoint`` then truncates the WAL, whose frames still hold the pages as they were
before the erasure.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from mautic_ctl.store.db import on_postgres

OPEN = ("pending", "processing")
REFUSED = "the user was deleted (account erasure); events recorded before its next signup are not applied"


def user_hash(user_id: str) -> str:
    import hashlib  # OpenSSL's hashlib costs ~5 ms to import: only when a hash is really needed

    return hashlib.sha256(user_id.encode()).hexdigest()


def erased_id(user_id: str) -> str:
    """What the user id becomes in the queue once erased."""
    return f"erased:{user_hash(user_id)[:32]}"


def erase_user(
    conn: sqlite3.Connection, user_id: str, *, delete_pk: int, outcome: str, now: float
) -> tuple[int, list[int]]:
    """Erase ``user_id`` inside the caller's write transaction; returns how many events were erased and
    the ids of the open ones settled dead.

    Events recorded after the deletion survive only from the user's next signup on ("unless it signs up
    again"); open ones before that are settled dead with the reason.
    """
    resignup = conn.execute(
        "SELECT min(id) FROM events WHERE user_id = ? AND id > ? AND kind = 'signup'", (user_id, delete_pk)
    ).fetchone()[0]
    cutoff = resignup if resignup is not None else 2**63 - 1
    rows = conn.execute(
        "SELECT id, payload, event_id, status FROM events WHERE user_id = ? AND id < ?", (user_id, cutoff)
    ).fetchall()
    secrets = _personal_values(conn, user_id, (r[1] for r in rows))
    hidden = erased_id(user_id)
    refused: list[int] = []
    for pk, payload, event_id, status in rows:
        data = json.loads(payload)
        kept = {k: data[k] for k in ("kind", "event_id", "occurred_at", "source") if k in data}
        if any(s.casefold() in event_id.casefold() for s in (*secrets, user_id)):  # e.g. "signup-u1"
            kept["event_id"] = event_id = f"erased:{user_hash(event_id)[:32]}"
        kept["user_id"] = hidden
        params = {"pk": pk, "payload": json.dumps(kept, sort_keys=True), "user": hidden, "event_id": event_id}
        conn.execute(
            """UPDATE events SET user_id = :user, payload = :payload, event_id = :event_id,
                   last_error = CASE WHEN last_error IS NULL THEN NULL ELSE 'erased' END WHERE id = :pk""",
            params,
        )
        if status in OPEN and pk != delete_pk:
            conn.execute(
                """UPDATE events SET status = 'dead', last_error = :why, finished_at = :now, lease_until = NULL,
                       lease_owner = NULL WHERE id = :pk""",
                {"why": REFUSED, "now": now, "pk": pk},
            )
            refused.append(pk)
    pks = [r[0] for r in rows]
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        conn.execute(f"UPDATE event_errors SET error = 'erased' WHERE event_pk IN ({marks})", chunk)
        conn.execute(f"UPDATE deliveries SET body = NULL, reason = NULL WHERE event_pk IN ({marks})", chunk)
    names = _BODY_NAMES_PG if on_postgres(conn) else _BODY_NAMES
    for value in secrets:  # a dead delivery (no event) can still carry the address in its body
        conn.execute(f"UPDATE deliveries SET body = NULL, reason = NULL WHERE {names}", (value, value))
    conn.execute("DELETE FROM billing_customers WHERE user_id = ?", (user_id,))
    # kept for the experiment report and the operators' trail, under the hashed id
    conn.execute("UPDATE experiment_assignments SET user_id = ? WHERE user_id = ?", (hidden, user_id))
    conn.execute("UPDATE operator_actions SET target = ? WHERE target = ?", (f"user:{hidden}", f"user:{user_id}"))
    conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
    conn.execute(
        "INSERT INTO erasures (user_hash, erased_at, outcome, events) VALUES (?, ?, ?, ?)",
        (user_hash(user_id), now, outcome, len(rows)),
    )
    return len(rows), refused


_BODY_NAMES = "instr(lower(CAST(body AS TEXT)), lower(?)) > 0 OR instr(lower(reason), lower(?)) > 0"
_BODY_NAMES_PG = "strpos(lower(encode(body, 'escape')), lower(?)) > 0 OR strpos(lower(reason), lower(?)) > 0"


def _personal_values(conn: sqlite3.Connection, user_id: str, payloads: Iterable[str]) -> set[str]:
    """Every email and name of the user mautic-ctl holds: what must not survive anywhere."""
    found: set[str] = set()
    row = conn.execute("SELECT email FROM users WHERE user_id = ?", (user_id,)).fetchone()
    if row and row[0]:
        found.add(row[0])
    for payload in payloads:
        data = json.loads(payload)
        for key in ("email", "first_name", "last_name"):
            if isinstance(data.get(key), str) and len(data[key]) >= 3:  # "Al" would match half the file
                found.add(data[key])
    return found


def erased_at(conn: sqlite3.Connection, user_id: str) -> float | None:
    """When the user was erased, if it was and no signup has been recorded for it since (its erased
    events no longer carry its id, so any signup under the id is a new one)."""
    if conn.execute("SELECT 1 FROM erasures LIMIT 1").fetchone() is None:
        return None  # no erasure ever: the record path needs no hash (nor hashlib)
    row = conn.execute(
        """SELECT erased_at FROM erasures WHERE user_hash = ?
           AND NOT EXISTS (SELECT 1 FROM events WHERE user_id = ? AND kind = 'signup') ORDER BY id DESC LIMIT 1""",
        (user_hash(user_id), user_id),
    ).fetchone()
    return row[0] if row else None


def checkpoint(conn: sqlite3.Connection, *, attempts: int = 20) -> bool:
    """Fold the WAL into the file and truncate it, so no old page image (with erased data) remains.

    Readers holding an old snapshot block the truncation; retried briefly. Returns whether it completed.
    PostgreSQL has no WAL file of ours to truncate (its old row versions go with autovacuum).
    """
    if on_postgres(conn):
        return True
    for _ in range(attempts):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(0.05)
    return False
