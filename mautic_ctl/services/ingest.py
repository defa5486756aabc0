"""Bulk recording: a JSON / JSONL stream of lifecycle events into the queue, a chunk per transaction.

Every record is validated before anything is written, so a bad record leaves the queue unchanged.
A record without an ``event_id`` gets one derived from its content, so feeding the same file twice
records nothing new.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mautic_ctl.errors import ConfigError, InputError, MauticCtlError
from mautic_ctl.events import Event, Vocabulary, event_from_json, iter_json_records
from mautic_ctl.services.record import record_many

if TYPE_CHECKING:
    from mautic_ctl.services.runtime import Runtime


@dataclass(slots=True)
class IngestReport:
    recorded: int = 0
    duplicates: int = 0
    queue_ids: list[int] = field(default_factory=list)


def content_id(record: dict) -> str:
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"sha256-{digest[:32]}"


def parse_records(raw: bytes, vocab: Vocabulary, now: datetime, source: str = "file") -> Iterable[Event]:
    for position, record in iter_json_records(raw):
        try:
            if isinstance(record, dict) and "event_id" not in record:
                record = {**record, "event_id": content_id(record)}
            yield event_from_json(record, vocab, now=now, source=source)
        except InputError as exc:
            raise InputError(f"record {position}: {exc.message}") from None


def ingest_events(
    conn: sqlite3.Connection,
    raw: bytes,
    vocab: Vocabulary,
    now: datetime,
    check: Callable[[Event], None] | None = None,
) -> IngestReport:
    """Validate every record first (one bad record: nothing is recorded), then record a chunk per transaction.

    ``check`` refuses (raises) an event the configuration cannot express, e.g. a move into a tier
    without a segment: that too refuses the whole input.
    """
    events = list(parse_records(raw, vocab, now))
    for position, event in enumerate(events, 1):
        try:
            if check is not None:
                check(event)
        except MauticCtlError as exc:
            raise type(exc)(f"record {position}: {exc.message}") from None
    report = IngestReport()
    for got in record_many(conn, events):
        report.queue_ids.append(got.pk)
        if got.duplicate:
            report.duplicates += 1
        else:
            report.recorded += 1
    return report


def ingest(rt: Runtime, raw: bytes, *, provider: str | None = None, signature: str | None = None) -> dict[str, Any]:
    """Record product events (JSON/JSONL) or webhook payloads; returns counts by outcome."""
    if provider is None:
        if signature is not None:
            raise InputError("--signature only applies to stripe or lemonsqueezy payloads.")
        report = ingest_events(rt.conn, raw, rt.settings.vocabulary(), datetime.now(UTC), expressible(rt))
        return {"recorded": report.recorded, "duplicate": report.duplicates, "queue_ids": report.queue_ids}
    from mautic_ctl.services.billing import ingest_webhooks

    return ingest_webhooks(rt, provider, raw, signature)


def expressible(rt: Runtime) -> Callable[[Event], None]:
    """The full settings' version of ``QuickConfig.check_expressible``."""
    from mautic_ctl.completeness import inexpressible

    s = rt.settings
    tiers, cancel_tier = tuple(s.lifecycle.tiers), s.lifecycle.cancel_tier
    with_segment = frozenset(t for t in tiers if t in s.segments)

    def check(event: Event) -> None:
        why = inexpressible(event, tiers, cancel_tier, with_segment)
        if why:
            raise ConfigError(why)

    return check
