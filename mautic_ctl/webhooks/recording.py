"""The contract between the HTTP receiver and whatever records deliveries durably.

The receiver verifies the signature (cheap, no database), then hands a :class:`Delivery` to a
:class:`Recorder`. The recorder, in ONE transaction: checks the delivery key for a duplicate,
normalises with a BillingState bound to that transaction, stores the delivery and its event (or
its ignored/dead reason), commits, and only then returns. The receiver answers 2xx only after
that, so an acknowledged delivery is never lost, and a failure answers 5xx so the sender retries.

:class:`MemoryRecorder` is the reference implementation, in memory, used by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from mautic_ctl.events import Event, Vocabulary
from mautic_ctl.webhooks.delivery import delivery_key, normalise_delivery
from mautic_ctl.webhooks.model import Normalised, ProviderConfig
from mautic_ctl.webhooks.state import MemoryBillingState


class RecordStatus(StrEnum):
    RECORDED = "recorded"  # a lifecycle event is now in the queue
    DUPLICATE = "duplicate"  # this delivery (or event id) was recorded before; nothing changed
    IGNORED = "ignored"  # recorded as a delivery that changes nothing
    SUPERSEDED = "superseded"  # an older snapshot than one already recorded: kept, never applied
    WAITING = "waiting"  # its user is not known yet: re-read when a linking event arrives
    DEAD = "dead"  # recorded as dead with a reason, for an operator


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified webhook delivery, as the receiver hands it to the recorder."""

    provider: str  # "stripe" or "lemonsqueezy"
    raw: bytes  # the body exactly as received (LemonSqueezy's dedupe key is its hash)
    payload: object  # the decoded JSON body
    received_at: datetime  # the ``now`` to normalise with
    headers: Mapping[str, str] = field(default_factory=dict)  # the signature header, for the record


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    status: RecordStatus
    delivery_id: str  # the dedupe key (equal to the event id for webhook events)
    event_id: str | None = None  # the recorded (or previously recorded) lifecycle event
    reason: str | None = None  # why ignored, superseded, waiting or dead
    superseded_by: str | None = None  # the delivery whose newer snapshot stands
    woken: int = 0  # waiting deliveries this one resolved into queue events (it taught their link)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value, "delivery_id": self.delivery_id}
        if self.event_id:
            out["event_id"] = self.event_id
        if self.reason:
            out["reason"] = self.reason
        if self.superseded_by:
            out["superseded_by"] = self.superseded_by
        if self.woken:
            out["woken"] = self.woken
        return out


class Recorder(Protocol):
    """Durable recording; both methods block until committed and raise if they could not commit."""

    def record(self, delivery: Delivery) -> RecordOutcome:
        """Dedupe, normalise (``normalise_delivery``) and store one delivery in one transaction."""
        ...

    def record_events(self, events: Sequence[Event]) -> list[RecordOutcome]:
        """Store the product's own (already validated) events in one transaction, deduped by id."""
        ...


def outcome_of(result: Normalised) -> RecordOutcome:
    """The RecordOutcome of a freshly stored Normalised result."""
    if result.event is not None:
        return RecordOutcome(RecordStatus.RECORDED, result.delivery_id, result.event.event_id)
    return RecordOutcome(RecordStatus(result.outcome), result.delivery_id, None, result.reason, result.superseded_by)


class MemoryRecorder:
    """A thread-safe Recorder in memory: the contract the SQLite recorder must meet, executable."""

    def __init__(
        self,
        configs: Mapping[str, ProviderConfig],
        vocab: Vocabulary,
        state: MemoryBillingState | None = None,
    ) -> None:
        self.configs = configs
        self.vocab = vocab
        self.state = state or MemoryBillingState()
        self.deliveries: dict[tuple[str, str], Normalised] = {}
        self.events: dict[str, Event] = {}  # event id -> event, in recording order
        self.fail_with: BaseException | None = None  # set to make every call raise (storage down)

    def record(self, delivery: Delivery) -> RecordOutcome:
        with self.state.lock:  # the "transaction": dedupe, normalise and store as one step
            if self.fail_with is not None:
                raise self.fail_with
            key = delivery_key(delivery.provider, delivery.payload, delivery.raw)
            seen = self.deliveries.get((delivery.provider, key))
            if seen is not None:
                event_id = seen.event.event_id if seen.event else None
                return RecordOutcome(RecordStatus.DUPLICATE, key, event_id, seen.reason)
            result = normalise_delivery(
                delivery.provider,
                delivery.payload,
                delivery.raw,
                self.configs,
                self.vocab,
                self.state,
                delivery.received_at,
            )
            self.deliveries[(delivery.provider, key)] = result
            if result.event is not None:
                self.events[result.event.event_id] = result.event
            return outcome_of(result)

    def record_events(self, events: Sequence[Event]) -> list[RecordOutcome]:
        with self.state.lock:
            if self.fail_with is not None:
                raise self.fail_with
            outcomes = []
            for event in events:
                status = RecordStatus.DUPLICATE if event.event_id in self.events else RecordStatus.RECORDED
                self.events.setdefault(event.event_id, event)
                outcomes.append(RecordOutcome(status, event.event_id, event.event_id))
            return outcomes

    def dead(self) -> dict[str, str]:
        """Delivery id -> reason, for every delivery recorded as dead."""
        return {key: r.dead for (_, key), r in self.deliveries.items() if r.dead is not None}
