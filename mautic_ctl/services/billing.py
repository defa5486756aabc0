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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mautic_ctl.errors import InputError
from mautic_ctl.events import Event, Vocabulary
from mautic_ctl.services.record import record_many
from mautic_ctl.store import billing, connect, write
from mautic_ctl.store import queue as q
from mautic_ctl.store.db import is_postgres
from mautic_ctl.webhooks.delivery import customer_key, delivery_key, normalise_delivery, parse_payload
from mautic_ctl.webhooks.model import STRIPE, Normalised, ProviderConfig
from mautic_ctl.webhooks.recording import Delivery, RecordOutcome, RecordStatus, outcome_of
from mautic_ctl.webhooks.state import CUSTOMER
from mautic_ctl.webhooks.stripe import learn_customer, stripe_customer_of

CustomerLookup = Callable[[str], "dict[str, Any] | None"]
DEFAULT_WAIT_S = 3 * 86400.0  # Stripe retries a delivery for up to three days


class SqliteRecorder:
    """The Recorder of `webhook serve` and `ingest stripe|lemonsqueezy`; one connection per thread.

    Besides recording, it keeps waiting deliveries moving: a delivery that teaches a link wakes the
    provider's waiting deliveries (in the same transaction), and a delivery that waited longer than
    ``wait_s`` is buried with its reason. ``lookup`` (Stripe ``[stripe] api_key``) fetches an unknown
    customer before normalising, outside the transaction.
    """

    def __init__(
        self,
        db: Path,
        configs: Mapping[str, ProviderConfig],
        vocab: Vocabulary,
        *,
        wait_s: float = DEFAULT_WAIT_S,
        lookup: CustomerLookup | None = None,
    ) -> None:
        self.db, self.configs, self.vocab = db, configs, vocab
        self.wait_s, self.lookup = wait_s, lookup
        self._local = threading.local()
        self._schema_checked = False
        self._expired_at = 0.0  # when waiting deliveries were last checked for expiry

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
        fetched = self._look_up(conn, delivery)
        with write(conn):
            seen = billing.seen_delivery(conn, delivery.provider, key)
            if seen is not None:
                _outcome, reason, event_id = seen
                return RecordOutcome(RecordStatus.DUPLICATE, key, event_id, reason)
            self._expire(conn)
            if fetched is not None:
                learn_customer(billing.SqliteBillingState(conn), fetched)
            result = self._normalise(conn, delivery.provider, delivery.payload, delivery.raw, delivery.received_at)
            outcome, event_pk = self._store(conn, result)
            customer = customer_key(delivery.provider, delivery.payload)
            billing.insert_delivery(
                conn, provider=delivery.provider, key=key, event_type=result.event_type, outcome=outcome.status.value,
                reason=outcome.reason, event_pk=event_pk, received_at=time.time(),
                body=None if outcome.status is RecordStatus.RECORDED else delivery.raw,
                superseded_by=outcome.superseded_by, customer_id=customer,
            )  # fmt: skip
            if customer is not None and (outcome.status is RecordStatus.RECORDED or result.learned):
                woken = self._wake(conn, delivery.provider, customer, delivery.received_at)
                outcome = replace(outcome, woken=woken)
        return outcome

    def retry(self, refs: Sequence[str], now: datetime) -> list[dict[str, Any]]:
        """Read stored deliveries again with what is known now (their signature was verified when
        they arrived). A delivery that already became a queue event is left as it is."""
        with self._connection() as conn:
            return self._retry(conn, refs, now)

    def _retry(self, conn: sqlite3.Connection, refs: Sequence[str], now: datetime) -> list[dict[str, Any]]:
        results = []
        with write(conn):
            self._expired_at = 0.0
            self._expire(conn)
            for ref in refs:
                row = billing.get_delivery(conn, ref)
                if row is None:
                    raise InputError(f"no webhook delivery {ref!r}; `mautic-ctl webhook list` shows them.")
                if row["outcome"] == RecordStatus.RECORDED.value or row["body"] is None:
                    results.append(
                        {
                            "id": row["id"],
                            "delivery_id": row["delivery_id"],
                            "status": row["outcome"],
                            "reason": "already recorded as a queue event; `queue retry` re-applies events.",
                        }
                    )
                    continue
                outcome = self._reread(conn, row, now)
                results.append({"id": row["id"], **outcome.to_dict()})
            for provider in self.configs:
                self._wake(conn, provider, None, now)
        return results

    # --- inside the transaction ------------------------------------------------------------------

    def _normalise(
        self, conn: sqlite3.Connection, provider: str, payload: object, raw: bytes, now: datetime
    ) -> Normalised:
        return normalise_delivery(
            provider, payload, raw, self.configs, self.vocab, billing.SqliteBillingState(conn), now
        )

    def _store(self, conn: sqlite3.Connection, result: Normalised) -> tuple[RecordOutcome, int | None]:
        """Enqueue the event of a result; a queue event recorded before (one invoice, two event types)
        makes the delivery ignored, pointing at it."""
        if result.event is None:
            return outcome_of(result), None
        enq = q.insert_event(conn, result.event, time.time())
        if enq.duplicate:
            reason = (
                f"{result.event_type}: queue event {result.event.event_id} was already recorded by an earlier "
                "delivery (invoice.paid and invoice.payment_succeeded of one invoice count once)."
            )
            return RecordOutcome(RecordStatus.IGNORED, result.delivery_id, result.event.event_id, reason), enq.pk
        return outcome_of(result), enq.pk

    def _reread(self, conn: sqlite3.Connection, row: dict[str, Any], now: datetime) -> RecordOutcome:
        raw = bytes(row["body"])
        result = self._normalise(conn, row["provider"], parse_payload(raw), raw, now)
        outcome, event_pk = self._store(conn, result)
        billing.settle_delivery(
            conn, row["id"], outcome=outcome.status.value, reason=outcome.reason, event_pk=event_pk,
            superseded_by=outcome.superseded_by,
        )  # fmt: skip
        return outcome

    def _wake(self, conn: sqlite3.Connection, provider: str, customer: str | None, now: datetime) -> int:
        """Re-read the deliveries waiting on this customer (all of the provider's: None) until a pass
        resolves none (a resolved one may teach a link another one waits for); how many became events."""
        events = 0
        for _ in range(10):
            statuses = [
                self._reread(conn, row, now).status for row in billing.waiting_deliveries(conn, provider, customer)
            ]
            events += statuses.count(RecordStatus.RECORDED)
            if all(status is RecordStatus.WAITING for status in statuses):
                break
        return events

    def _expire(self, conn: sqlite3.Connection) -> None:
        """Bury deliveries that waited longer than ``wait_s`` (checked at most once a second: the check
        reads every waiting delivery, and a burst of deliveries must not pay it each time)."""
        now = time.time()
        if now - self._expired_at < min(1.0, self.wait_s / 2):
            return
        self._expired_at = now
        for row in billing.expired_waiting(conn, now - self.wait_s):
            reason = f"waited {format_wait(self.wait_s)} for its user to become known: {row['reason']}"
            billing.settle_delivery(conn, row["id"], outcome=RecordStatus.DEAD.value, reason=reason, event_pk=None)

    def _look_up(self, conn: sqlite3.Connection, delivery: Delivery) -> dict[str, Any] | None:
        """With a Stripe API key: the customer of a delivery whose customer nobody linked yet."""
        if self.lookup is None or delivery.provider != STRIPE:
            return None
        customer_id = stripe_customer_of(delivery.payload)
        if customer_id is None:
            return None
        link = billing.SqliteBillingState(conn).link(STRIPE, CUSTOMER, customer_id)
        if link is not None and link.user_id and link.email:
            return None
        return self.lookup(customer_id)

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


def format_wait(seconds: float) -> str:
    days, hours = seconds / 86400, seconds / 3600
    if days >= 1 and days == int(days):
        return f"{int(days)} day{'s' if days != 1 else ''}"
    if hours >= 1 and hours == int(hours):
        return f"{int(hours)} hour{'s' if hours != 1 else ''}"
    return f"{int(seconds)} s"


def provider_configs(settings: Any) -> dict[str, ProviderConfig]:
    """The webhook layer's view of `[stripe]` / `[lemonsqueezy]`."""

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    s, ls, b = settings.stripe, settings.lemonsqueezy, settings.billing
    shared = {"accept_test_mode": b.accept_test_mode, "email_from_billing": b.email_from_billing}
    return {
        "stripe": ProviderConfig(secret(s.webhook_secret), dict(s.tiers), s.tolerance, **shared),
        "lemonsqueezy": ProviderConfig(secret(ls.signing_secret), dict(ls.tiers), ls.tolerance, **shared),
    }


def make_recorder(settings: Any) -> SqliteRecorder:
    """The recorder the settings describe (tier maps, [billing] wait, the optional Stripe lookup)."""
    lookup = None
    if settings.stripe.api_key is not None:
        from mautic_ctl.stripe_api import customer_lookup

        lookup = customer_lookup(settings.stripe.api_key.get_secret_value())
    return SqliteRecorder(
        settings.queue.db, provider_configs(settings), settings.vocabulary(),
        wait_s=settings.billing.wait, lookup=lookup,
    )  # fmt: skip


def ingest_webhooks(rt: Any, provider: str, raw: bytes, signature: str | None) -> dict[str, Any]:
    """`ingest stripe|lemonsqueezy FILE|-`: verify (when a signature is given), normalise, record."""
    from mautic_ctl.webhooks.delivery import split_deliveries, verify_signature

    configs = provider_configs(rt.settings)
    deliveries = split_deliveries(raw)
    if signature is not None:
        if len(deliveries) != 1:
            raise InputError("--signature verifies one payload; give a file with a single webhook body.")
        verify_signature(provider, deliveries[0][0], signature, configs[provider], now=time.time())
    recorder = make_recorder(rt.settings)
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


def show_delivery(rt: Any, ref: str) -> dict[str, Any]:
    """`webhook show ID`: one stored delivery with its body (decoded when it is JSON)."""
    import json

    row = billing.get_delivery(rt.conn, ref)
    if row is None:
        raise InputError(f"no webhook delivery {ref!r}; `mautic-ctl webhook list` shows them.")
    body = row.pop("body")
    try:
        row["body"] = json.loads(body) if body is not None else None
    except (ValueError, UnicodeDecodeError):
        row["body"] = bytes(body).decode("utf-8", "replace")
    return row


def retry_deliveries(rt: Any, refs: Sequence[str], *, all_dead: bool) -> list[dict[str, Any]]:
    """`webhook retry ID… | --all-dead`: read stored deliveries again with what is known now."""
    if bool(refs) == all_dead:
        raise InputError("give webhook delivery ids (from `webhook list`), or --all-dead (not both).")
    recorder = make_recorder(rt.settings)
    try:
        wanted = billing.dead_delivery_ids(rt.conn) if all_dead else list(refs)
        return recorder.retry(wanted, datetime.now(UTC)) if wanted else []
    finally:
        recorder.close()


def send_delivery(url: str, provider: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
    """`simulate … --send URL`: POST one signed delivery to a running receiver, as the provider would.

    A URL without a path gets the provider's route (``/webhooks/stripe``)."""
    import httpx

    from mautic_ctl.errors import MauticCtlError

    parsed = httpx.URL(url)
    if parsed.path in ("", "/"):
        parsed = parsed.copy_with(path=f"/webhooks/{provider}")
    try:
        response = httpx.post(parsed, content=body, headers=dict(headers), timeout=30)
    except httpx.HTTPError as exc:
        raise MauticCtlError(f"could not send the delivery to {parsed} ({exc}); is `webhook serve` running?") from None
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    return response.status_code, answer
