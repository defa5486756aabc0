"""Billing memory: webhook deliveries, customer -> user links, subscription snapshots.

Used inside the recording transaction of a delivery (see ``services.billing``), so a delivery, the
memory it updates and the event it becomes are committed together or not at all.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from mautic_ctl.redact import redact_optional
from mautic_ctl.webhooks.state import SubscriptionRecord


class SqliteBillingState:
    """BillingState on the store, used only inside the recording transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def user_for_customer(self, provider: str, customer_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT user_id FROM billing_customers WHERE provider = ? AND customer_id = ?", (provider, customer_id)
        ).fetchone()
        return row[0] if row else None

    def remember_customer(self, provider: str, customer_id: str, user_id: str) -> None:
        self.conn.execute(
            """INSERT INTO billing_customers (provider, customer_id, user_id) VALUES (?, ?, ?)
               ON CONFLICT (provider, customer_id) DO UPDATE SET user_id = excluded.user_id""",
            (provider, customer_id, user_id),
        )

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
            """SELECT variant, tier, status, updated_at FROM billing_subscriptions
               WHERE provider = ? AND subscription_id = ?""",
            (provider, subscription_id),
        ).fetchone()
        if row is None:
            return None
        return SubscriptionRecord(row[0], row[1], row[2], datetime.fromisoformat(row[3]))

    def remember_subscription(self, provider: str, subscription_id: str, record: SubscriptionRecord) -> None:
        self.conn.execute(
            """INSERT INTO billing_subscriptions (provider, subscription_id, variant, tier, status, updated_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (provider, subscription_id) DO UPDATE SET variant = excluded.variant,
                   tier = excluded.tier, status = excluded.status, updated_at = excluded.updated_at""",
            (provider, subscription_id, record.variant, record.tier, record.status, record.updated_at.isoformat()),
        )


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
) -> None:
    conn.execute(
        """INSERT INTO deliveries
               (provider, delivery_id, event_type, outcome, reason, event_pk, received_at, body)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (provider, key, event_type, outcome, redact_optional(reason), event_pk, received_at, body),
    )


def list_deliveries(conn: sqlite3.Connection, outcome: str | None, limit: int) -> list[dict[str, Any]]:
    where = "WHERE outcome = ?" if outcome else ""
    params: tuple[Any, ...] = (outcome, limit) if outcome else (limit,)
    rows = conn.execute(
        f"""SELECT id, provider, delivery_id, event_type, outcome, reason, event_pk, received_at
            FROM deliveries {where} ORDER BY id DESC LIMIT ?""",
        params,
    ).fetchall()
    return [dict(r) for r in rows]
