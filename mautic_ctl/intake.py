"""Recording one event: check that its contact can be found or created, then enqueue it.

Light on purpose (no HTTP stack, no pydantic): it is the whole of `signup --no-apply`.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from mautic_ctl.errors import InputError
from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import queue as q


def record_event(conn: sqlite3.Connection, event: Event) -> q.Enqueued:
    """Enqueue (or acknowledge a duplicate); refuse an event whose contact nobody could create."""
    if event.kind is not EventKind.SIGNUP and event.email is None and not q.user_has_email(conn, event.user_id):
        raise InputError(
            f"user {event.user_id!r} is unknown to mautic-ctl and no --email was given; "
            "pass --email so the Mautic contact can be found or created."
        )
    return q.enqueue(conn, event, time.time())


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What a recording command reports (its --json payload)."""

    event_id: str
    pk: int
    status: str  # applied | queued | recorded | dead | superseded
    contact_id: int | None = None
    transition: str | None = None
    duplicate: bool = False
    error: str | None = None


STATUS_WORDS = {q.Status.DONE: "applied", q.Status.PENDING: "queued", q.Status.PROCESSING: "queued"}


def status_word(status: q.Status) -> str:
    return STATUS_WORDS.get(status, status.value)


def as_result(event: Event, got: q.Enqueued) -> RecordResult:
    """A fresh record is "recorded"; a duplicate reports the first event's outcome."""
    if not got.duplicate:
        return RecordResult(event.event_id, got.pk, "recorded")
    first = got.result or {}
    return RecordResult(
        event.event_id, got.pk, status_word(got.status), first.get("contact_id"), first.get("transition"), True
    )
