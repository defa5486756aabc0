"""Billing memory: webhook deliveries, customer -> user links, subscription snapshots.

Used inside the recording transaction of a delivery (see ``services.billing``), so a delivery, the
memory it updates and the event it becomes are committed together or not at all.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from mautic_ctl.redact import redact_optional
from mautic_ctl.webhooks.state import Link, SubscriptionRecord


class SqliteBillingState:
    """BillingState on the store, used only inside the recording transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def link(self, provider: str, kind: str, external_id: str) -> Link | None:
        row = self.conn.execute(
            "SELECT user_id, email, via FROM billing_links WHERE provider = ? AND kind = ? AND external_id = ?",
            (provider, kind, external_id),
        ).fetchone()
        return Link(row[0], row[1], row[2]) if row else None

    def remember_link(
        self, provider: str, kind: str, external_id: str, *, user_id: str | None, email: str | None, via: str | None
    ) -> None:
        self.conn.execute(
            """INSERT INTO billing_links (provider, kind, external_id, user_id, email, via)
               VALUES (:provider, :kind, :id, :user_id, :email, :via)
               ON CONFLICT (provider, kind, external_id) DO UPDATE SET
                   user_id = coalesce(excluded.user_id, billing_links.user_id),
                   email = coalesce(excluded.email, billing_links.email),
                   via = CASE WHEN excluded.user_id IS NULL THEN billing_links.via ELSE excluded.via END""",
            {"provider": provider, "kind": kind, "id": external_id, "user_id": user_id, "email": email, "via": via},
        )

    def known_email(self, user_id: str) -> str | None:
        row = self.conn.execute(
            """SELECT email FROM users WHERE user_id = :u AND email IS NOT NULL
               UNION ALL SELECT json_extract(payload, '$.email') FROM events
                 WHERE user_id = :u AND status != 'dead' AND json_extract(payload, '$.email') IS NOT NULL
               LIMIT 1""",
            {"u": user_id},
        ).fetchone()
        return row[0] if row else None

    def user_for_email(self, email: str) -> str | None:
        row = self.conn.execute(
            """SELECT user_id FROM users WHERE email = ? COLLATE NOCASE
               UNION ALL SELECT user_id FROM events WHERE json_extract(payload, '$.email') = ? COLLATE NOCASE
               LIMIT 1""",
            (email, email),
        ).fetchone()
        return row[0] if row else None

    def known_tier(self, user_id: str) -> str | None:
        row = self.conn.execute("SELECT tier, status FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is not None and (row[0] or row[1]):
            return "cancelled" if row[1] == "cancelled" else row[0]
        # Recorded but not yet applied events count as knowing the user (a signup still in the queue).
        pending = self.conn.execute(
            "SELECT json_extract(payload, '$.tier') FROM events WHERE user_id = ? AND status != 'dead' "
            "ORDER BY id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
        return pending[0] if pending else None

    def subscription(self, provider: str, subscription_id: str) -> SubscriptionRecord | None:
        row = self.conn.execute(
            """SELECT variant, tier, status, updated_at, clock, delivery_id FROM billing_subscriptions
               WHERE provider = ? AND subscription_id = ?""",
            (provider, subscription_id),
        ).fetchone()
        if row is None:
            return None
        return SubscriptionRecord(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5])

    def remember_subscription(self, provider: str, subscription_id: str, record: SubscriptionRecord) -> None:
        self.conn.execute(
            """INSERT INTO billing_subscriptions
                   (provider, subscription_id, variant, tier, status, updated_at, clock, delivery_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (provider, subscription_id) DO UPDATE SET variant = excluded.variant,
                   tier = excluded.tier, status = excluded.status, updated_at = excluded.updated_at,
                   clock = excluded.clock, delivery_id = excluded.delivery_id""",
            (provider, subscription_id, record.variant, record.tier, record.status, record.updated_at.isoformat(),
             record.clock, record.delivery_id),
        )  # fmt: skip


def seen_delivery(conn: sqlite3.Connection, provider: str, key: str) -> tuple[str, str | None, str | None] | None:
    """(outcome, reason, event id) of a delivery already recorded, or None."""
    row = conn.execute(
        """SELECT d.outcome, d.reason, e.event_id FROM deliveries d LEFT JOIN events e ON e.id = d.event_pk
           WHERE d.provider = ? AND d.delivery_id = ?""",
        (provider, key),
    ).fetchone()
    return (row[0], row[1], row[2]) if row is not None else None


def insert_delivery(
    conn: sqlite3.Connection,
    *,
    provider: str,
    key: str,
    event_type: str | None,
    outcome: str,
    reason: str | None,
    event_pk: int | None,
    received_at: float,
    body: bytes | None,
    superseded_by: str | None = None,
    customer_id: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO deliveries (provider, delivery_id, event_type, outcome, reason, event_pk, received_at, body,
                                   superseded_by, customer_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            provider,
            key,
            event_type,
            outcome,
            redact_optional(reason),
            event_pk,
            received_at,
            body,
            superseded_by,
            customer_id,
        ),
    )


def settle_delivery(
    conn: sqlite3.Connection,
    pk: int,
    *,
    outcome: str,
    reason: str | None,
    event_pk: int | None,
    superseded_by: str | None = None,
) -> None:
    """A stored delivery read again (retried, or woken by a link): its new outcome. The body stays,
    so it can be shown and retried again."""
    conn.execute(
        "UPDATE deliveries SET outcome = ?, reason = ?, event_pk = ?, superseded_by = ? WHERE id = ?",
        (outcome, redact_optional(reason), event_pk, superseded_by, pk),
    )


def waiting_deliveries(conn: sqlite3.Connection, provider: str, customer_id: str | None) -> list[dict[str, Any]]:
    """Deliveries of ``provider`` waiting for their user to become known, oldest first: those of one
    provider customer, or all of them (``customer_id`` None)."""
    sql = "SELECT id, provider, delivery_id, received_at, body FROM deliveries WHERE outcome = 'waiting'"
    sql += " AND provider = ?"
    if customer_id is None:
        rows = conn.execute(sql + " ORDER BY id", (provider,)).fetchall()
    else:  # one equality, so the partial index (provider, customer_id, id) answers it
        rows = conn.execute(sql + " AND customer_id = ? ORDER BY id", (provider, customer_id)).fetchall()
    return [dict(r) for r in rows]


def expired_waiting(conn: sqlite3.Connection, before: float) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, reason, received_at FROM deliveries WHERE outcome = 'waiting' AND received_at < ? ORDER BY id",
        (before,),
    ).fetchall()
    return [dict(r) for r in rows]


def get_delivery(conn: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """One delivery by its row id or its delivery id (evt_…, ls-…), with its body and queue event."""
    column = "d.id" if ref.isdigit() else "d.delivery_id"
    row = conn.execute(
        f"""SELECT d.id, d.provider, d.delivery_id, d.event_type, d.outcome, d.reason, d.event_pk, d.received_at,
                   d.superseded_by, d.body, e.event_id, e.status AS event_status
            FROM deliveries d LEFT JOIN events e ON e.id = d.event_pk WHERE {column} = ?""",
        (int(ref) if ref.isdigit() else ref,),
    ).fetchone()
    return dict(row) if row is not None else None


def dead_delivery_ids(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT id FROM deliveries WHERE outcome = 'dead' ORDER BY id")]


def list_deliveries(conn: sqlite3.Connection, outcome: str | None, limit: int) -> list[dict[str, Any]]:
    where = "WHERE outcome = ?" if outcome else ""
    params: tuple[Any, ...] = (outcome, limit) if outcome else (limit,)
    rows = conn.execute(
        f"""SELECT id, provider, delivery_id, event_type, outcome, reason, event_pk, received_at, superseded_by
            FROM deliveries {where} ORDER BY id DESC LIMIT ?""",
        params,
    ).fetchall()
    return [dict(r) for r in rows]
