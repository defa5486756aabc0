"""Billing webhooks recorded durably: the Recorder the webhook layer asks for, on the store.

A delivery is deduplicated, normalised and stored in ONE ``BEGIN IMMEDIATE`` transaction, with the
customer and subscription memory it updates, so an acknowledged delivery is never lost and a failed
one leaves nothing half-remembered. Deliveries that cannot become an event (no user, an unmapped price)
are kept in ``deliveries`` with their reason and body — never dropped.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mautic_ctl.events import Event, Vocabulary
from mautic_ctl.services.record import record_many
from mautic_ctl.store import billing, connect, write
from mautic_ctl.store import queue as q
from mautic_ctl.store.db import is_postgres
from mautic_ctl.webhooks.delivery import delivery_key, normalise_delivery
from mautic_ctl.webhooks.model import ProviderConfig
from mautic_ctl.webhooks.recording import Delivery, RecordOutcome, RecordStatus, outcome_of


class SqliteRecorder:
    """The Recorder of `webhook serve` and `ingest stripe|lemonsqueezy`; one connection per thread."""

    def __init__(self, db: Path, configs: Mapping[str, ProviderConfig], vocab: Vocabulary) -> None:
        self.db, self.configs, self.vocab = db, configs, vocab
        self._local = threading.local()
        self._schema_checked = False

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.db)
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """SQLite: this thread's connection. PostgreSQL: one borrowed from the pool for this delivery,
        so a receiver's many request threads share a few server connections."""
        if not is_postgres(self.db):
            yield self.conn
            return
        conn = connect(self.db, check_schema=not self._schema_checked)
        self._schema_checked = True
        try:
            yield conn
        finally:
            conn.close()

    def record(self, delivery: Delivery) -> RecordOutcome:
        with self._connection() as conn:
            return self._record(conn, delivery)

    def _record(self, conn: sqlite3.Connection, delivery: Delivery) -> RecordOutcome:
        key = delivery_key(delivery.provider, delivery.payload, delivery.raw)
        with write(conn):
            seen = billing.seen_delivery(conn, delivery.provider, key)
            if seen is not None:
                _outcome, reason, event_id = seen
                return RecordOutcome(RecordStatus.DUPLICATE, key, event_id, reason)
            result = normalise_delivery(
                delivery.provider, delivery.payload, delivery.raw, self.configs, self.vocab,
                billing.SqliteBillingState(conn), delivery.received_at,
            )  # fmt: skip
            event_pk = None
            if result.event is not None:
                event_pk = q.insert_event(conn, result.event, time.time()).pk
            billing.insert_delivery(
                conn, provider=delivery.provider, key=key, event_type=result.event_type, outcome=result.outcome,
                reason=result.reason, event_pk=event_pk, received_at=time.time(),
                body=None if result.event is not None else delivery.raw,
            )  # fmt: skip
        return outcome_of(result)

    def record_events(self, events: Sequence[Event]) -> list[RecordOutcome]:
        got = record_many(self.conn, events)
        return [
            RecordOutcome(RecordStatus.DUPLICATE if g.duplicate else RecordStatus.RECORDED, e.event_id, e.event_id)
            for e, g in zip(events, got, strict=True)
        ]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def provider_configs(settings: Any) -> dict[str, ProviderConfig]:
    """The webhook layer's view of `[stripe]` / `[lemonsqueezy]`."""

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    s, ls = settings.stripe, settings.lemonsqueezy
    return {
        "stripe": ProviderConfig(secret(s.webhook_secret), dict(s.tiers), s.tolerance),
        "lemonsqueezy": ProviderConfig(secret(ls.signing_secret), dict(ls.tiers), ls.tolerance),
    }


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
