"""The per-user mirror (what mautic-ctl applied), the audit log, and the name -> id cache."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mautic_ctl.redact import redact_optional
from mautic_ctl.rules import UserState
from mautic_ctl.store.db import rows, write


@dataclass(frozen=True, slots=True)
class MirrorRow:
    state: UserState
    last_event_at: datetime | None
    first_hand: bool = True  # False: rebuilt from a read, so the next entry checks Mautic first


def load_users(conn: sqlite3.Connection, user_ids: Iterable[str]) -> dict[str, MirrorRow]:
    ids = sorted(set(user_ids))
    out: dict[str, MirrorRow] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        for r in conn.execute(f"SELECT * FROM users WHERE user_id IN ({marks})", chunk):
            out[r["user_id"]] = _row_to_mirror(r)
    return out


def _row_to_mirror(r: sqlite3.Row) -> MirrorRow:
    state = UserState(
        known=r["tier"] is not None or r["status"] is not None,
        contact_id=r["contact_id"],
        email=r["email"],
        tier=r["tier"],
        status=r["status"],
        segments=frozenset(json.loads(r["segments"])),
        campaigns=frozenset(json.loads(r["campaigns"])),
        lifetime_value=r["lifetime_value"],
        last_login=r["last_login"],
        unsubscribed=None if r["unsubscribed"] is None else bool(r["unsubscribed"]),
        consent_at=datetime.fromisoformat(r["consent_at"]) if r["consent_at"] else None,
        counts=json.loads(r["counts"] or "{}"),
    )
    last = datetime.fromisoformat(r["last_event_at"]) if r["last_event_at"] else None
    return MirrorRow(state, last, bool(r["first_hand"]))


SQL_UPSERT_USER = """
INSERT INTO users (user_id, email, contact_id, tier, status, segments, campaigns, lifetime_value,
                   last_event_at, last_synced_at, first_hand, last_login, unsubscribed, consent_at, counts)
VALUES (:user_id, :email, :contact_id, :tier, :status, :segments, :campaigns, :ltv, :last_event_at, :now,
        :first_hand, :last_login, :unsubscribed, :consent_at, :counts)
ON CONFLICT (user_id) DO UPDATE SET
    email = excluded.email, contact_id = excluded.contact_id, tier = excluded.tier,
    status = excluded.status, segments = excluded.segments, campaigns = excluded.campaigns,
    lifetime_value = excluded.lifetime_value, first_hand = excluded.first_hand, last_login = excluded.last_login,
    unsubscribed = excluded.unsubscribed, consent_at = excluded.consent_at, counts = excluded.counts,
    last_event_at = nullif(max(coalesce(users.last_event_at, ''), coalesce(excluded.last_event_at, '')), ''),
    last_synced_at = excluded.last_synced_at"""


def user_params(
    user_id: str, state: UserState, last_event_at: datetime | None, now: float, *, first_hand: bool = True
) -> dict[str, Any]:
    return {
        "first_hand": int(first_hand),
        "user_id": user_id,
        "email": state.email,
        "contact_id": state.contact_id,
        "tier": state.tier,
        "status": state.status,
        "segments": json.dumps(sorted(state.segments)),
        "campaigns": json.dumps(sorted(state.campaigns)),
        "ltv": state.lifetime_value,
        "last_event_at": last_event_at.isoformat() if last_event_at else None,
        "now": now,
        "last_login": state.last_login,
        "unsubscribed": None if state.unsubscribed is None else int(state.unsubscribed),
        "consent_at": state.consent_at.isoformat() if state.consent_at else None,
        "counts": json.dumps(dict(sorted(state.counts.items()))),
    }


def known_users(conn: sqlite3.Connection) -> list[tuple[str, MirrorRow]]:
    """Every user the mirror knows, by user id."""
    return [(r["user_id"], _row_to_mirror(r)) for r in conn.execute("SELECT * FROM users ORDER BY user_id")]


def write_users(conn: sqlite3.Connection, params: Sequence[dict[str, Any]]) -> None:
    """Write mirror rows (``user_params``) in one transaction: a rebuild from what was read."""
    if params:
        with write(conn):
            conn.executemany(SQL_UPSERT_USER, params)


def get_user(conn: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    found = rows(conn, "SELECT * FROM users WHERE user_id = ?", (user_id,))
    if not found:
        return None
    user = found[0]
    user["segments"] = json.loads(user["segments"])
    user["campaigns"] = json.loads(user["campaigns"])
    user["counts"] = json.loads(user["counts"] or "{}")
    return user


def contact_owners(conn: sqlite3.Connection, contact_ids: Iterable[int]) -> dict[int, set[str]]:
    """Contact id -> the user ids the mirror maps to it (more than one: a shared contact)."""
    ids = sorted(set(contact_ids))
    out: dict[int, set[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        for cid, uid in conn.execute(f"SELECT contact_id, user_id FROM users WHERE contact_id IN ({marks})", chunk):
            out.setdefault(cid, set()).add(uid)
    return out


def user_for_email(conn: sqlite3.Connection, email: str) -> str | None:
    row = conn.execute(
        "SELECT user_id FROM users WHERE email = ? COLLATE NOCASE ORDER BY last_synced_at DESC LIMIT 1",
        (email,),
    ).fetchone()
    return row[0] if row else None


# --- audit ------------------------------------------------------------------------------------

SQL_AUDIT = """INSERT INTO audit (at, method, path, status, duration_ms, event_pk, error)
               VALUES (?, ?, ?, ?, ?, ?, ?)"""

AuditRow = tuple[float, str, str, int | None, float, int | tuple[int, ...] | None, str | None]
"""(at, method, path, status, duration ms, the event — or the events of a batch call —, error)."""


def write_audit(conn: sqlite3.Connection, records: Sequence[AuditRow]) -> None:
    """One row per Mautic call; a batch call serving several events is linked to each of them."""
    if not records:
        return
    with write(conn):
        for at, method, path, status, ms, events, error in records:
            error = redact_optional(error)
            pks = events if isinstance(events, tuple) else ((events,) if events is not None else ())
            if len(pks) <= 1:
                conn.execute(SQL_AUDIT, (at, method, path, status, ms, pks[0] if pks else None, error))
                continue
            audit_id = conn.execute(
                SQL_AUDIT + " RETURNING id", (at, method, path, status, ms, pks[0], error)
            ).fetchone()[0]
            conn.executemany(
                "INSERT OR IGNORE INTO audit_events (event_pk, audit_id) VALUES (?, ?)",
                [(pk, audit_id) for pk in pks],
            )


def recent_audit(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    return rows(conn, "SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))


def audit_log(conn: sqlite3.Connection, wanted: Any) -> list[dict[str, Any]]:
    """Audit rows, newest first, with the event's id and user (``wanted``: a ``services.log.AuditFilter``)."""
    where, params = [], {"limit": wanted.limit}
    if wanted.user_id is not None:
        where.append("e.user_id = :user")
        params["user"] = wanted.user_id
    if wanted.event is not None:
        where.append("(e.event_id = :event OR CAST(l.event_pk AS TEXT) = :event)")
        params["event"] = str(wanted.event)
    if wanted.since is not None:
        where.append("a.at >= :since")
        params["since"] = wanted.since
    if wanted.status_min is not None:
        status = "a.status BETWEEN :low AND :high"
        where.append(f"({status} OR a.status IS NULL)" if wanted.no_answer else status)
        params |= {"low": wanted.status_min, "high": wanted.status_max}
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    # A call belongs to its event (audit.event_pk) and, for a batch call, to every event it served.
    return rows(
        conn,
        f"""SELECT a.at, l.event_pk, e.event_id, e.user_id, a.method, a.path, a.status, a.duration_ms, a.error
            FROM audit AS a
            LEFT JOIN (SELECT id AS audit_id, event_pk FROM audit WHERE event_pk IS NOT NULL
                       UNION SELECT audit_id, event_pk FROM audit_events) AS l ON l.audit_id = a.id
            LEFT JOIN events AS e ON e.id = l.event_pk {clause}
            ORDER BY a.id DESC, l.event_pk LIMIT :limit""",
        params,
    )


# --- id cache ---------------------------------------------------------------------------------


def cached_id(conn: sqlite3.Connection, kind: str, name: str, *, max_age: float, now: float) -> int | None:
    row = conn.execute(
        "SELECT mautic_id, fetched_at FROM id_cache WHERE kind = ? AND name = ?", (kind, name)
    ).fetchone()
    if row is None or now - row[1] > max_age:
        return None
    return int(row[0])


def cache_ids(conn: sqlite3.Connection, kind: str, mapping: dict[str, int], now: float) -> None:
    with write(conn):
        conn.executemany(
            """INSERT INTO id_cache (kind, name, mautic_id, fetched_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (kind, name) DO UPDATE SET mautic_id = excluded.mautic_id,
               fetched_at = excluded.fetched_at""",
            [(kind, name, mid, now) for name, mid in mapping.items()],
        )


def contacts(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(email, contact id) of every user with a Mautic contact, by user id."""
    rows = conn.execute("SELECT email, contact_id FROM users WHERE contact_id IS NOT NULL ORDER BY user_id").fetchall()
    return [(r[0], r[1]) for r in rows]
