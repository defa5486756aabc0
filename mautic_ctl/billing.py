"""Billing webhooks recorded durably: the SQLite BillingState and Recorder the webhook layer asks for.

A delivery is deduplicated, normalised and stored in ONE ``BEGIN IMMEDIATE`` transaction, with the
customer and subscription memory it updates, so an acknowledged delivery is never lost and a failed
one leaves nothing half-remembered. Deliveries that cannot become an event (no user, an unmapped price)
are kept in ``deliveries`` with their reason and body — never dropped.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mautic_ctl.events import Event, Vocabulary
from mautic_ctl.store import connect, write
from mautic_ctl.store import queue as q
from mautic_ctl.webhooks.delivery import delivery_key, normalise_delivery
from mautic_ctl.webhooks.model import ProviderConfig
from mautic_ctl.webhooks.recording import Delivery, RecordOutcome, RecordStatus, outcome_of
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


class SqliteRecorder:
    """The Recorder of `webhook serve` and `ingest stripe|lemonsqueezy`; one connection per thread."""

    def __init__(self, db: Path, configs: Mapping[str, ProviderConfig], vocab: Vocabulary) -> None:
        self.db, self.configs, self.vocab = db, configs, vocab
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.db)
        return conn

    def record(self, delivery: Delivery) -> RecordOutcome:
        conn = self.conn
        key = delivery_key(delivery.provider, delivery.payload, delivery.raw)
        with write(conn):
            seen = conn.execute(
                "SELECT outcome, reason, event_pk FROM deliveries WHERE provider = ? AND delivery_id = ?",
                (delivery.provider, key),
            ).fetchone()
            if seen is not None:
                event_id = _event_id(conn, seen[2])
                return RecordOutcome(RecordStatus.DUPLICATE, key, event_id, seen[1])
            result = normalise_delivery(
                delivery.provider, delivery.payload, delivery.raw, self.configs, self.vocab,
                SqliteBillingState(conn), delivery.received_at,
            )  # fmt: skip
            event_pk = None
            if result.event is not None:
                event_pk = q.insert_event(conn, result.event, time.time()).pk
            conn.execute(
                """INSERT INTO deliveries
                       (provider, delivery_id, event_type, outcome, reason, event_pk, received_at, body)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (delivery.provider, key, result.event_type, result.outcome, result.reason, event_pk, time.time(),
                 None if result.event is not None else delivery.raw),
            )  # fmt: skip
        return outcome_of(result)

    def record_events(self, events: Sequence[Event]) -> list[RecordOutcome]:
        got = q.enqueue_many(self.conn, events, time.time())
        return [
            RecordOutcome(RecordStatus.DUPLICATE if g.duplicate else RecordStatus.RECORDED, e.event_id, e.event_id)
            for e, g in zip(events, got, strict=True)
        ]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _event_id(conn: sqlite3.Connection, pk: int | None) -> str | None:
    if pk is None:
        return None
    row = conn.execute("SELECT event_id FROM events WHERE id = ?", (pk,)).fetchone()
    return row[0] if row else None


def provider_configs(settings: Any) -> dict[str, ProviderConfig]:
    """The webhook layer's view of `[stripe]` / `[lemonsqueezy]`."""

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    s, ls = settings.stripe, settings.lemonsqueezy
    return {
        "stripe": ProviderConfig(secret(s.webhook_secret), dict(s.tiers), s.tolerance),
        "lemonsqueezy": ProviderConfig(secret(ls.signing_secret), dict(ls.tiers), ls.tolerance),
    }


def list_deliveries(conn: sqlite3.Connection, outcome: str | None, limit: int) -> list[dict[str, Any]]:
    where = "WHERE outcome = ?" if outcome else ""
    params: tuple[Any, ...] = (outcome, limit) if outcome else (limit,)
    rows = conn.execute(
        f"""SELECT id, provider, delivery_id, event_type, outcome, reason, event_pk, received_at
            FROM deliveries {where} ORDER BY id DESC LIMIT ?""",
        params,
    ).fetchall()
    return [dict(r) for r in rows]


def ingest_webhooks(rt: Any, provider: str, raw: bytes, signature: str | None) -> dict[str, Any]:
    """`ingest stripe|lemonsqueezy FILE|-`: verify (when a signature is given), normalise, record."""
    from mautic_ctl.errors import InputError
    from mautic_ctl.webhooks.delivery import split_deliveries, verify_signature

    configs = provider_configs(rt.settings)
    deliveries = split_deliveries(raw)
    if signature is not None:
        if len(deliveries) != 1:
            raise InputError("--signature verifies one payload; give a file with a single webhook body.")
        verify_signature(provider, deliveries[0][0], signature, configs[provider], now=time.time())
    recorder = SqliteRecorder(rt.settings.queue.db, configs, rt.settings.vocabulary())
    counts = {s.value: 0 for s in RecordStatus}
    outcomes = []
    try:
        now = datetime.now(UTC)
        for body, payload in deliveries:
            outcome = recorder.record(Delivery(provider, body, payload, now))
            counts[outcome.status.value] += 1
            outcomes.append(outcome.to_dict())
    finally:
        recorder.close()
    return {**counts, "deliveries": outcomes}
