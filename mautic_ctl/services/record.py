"""Recording one event, then (optionally) seeing it applied at once — without a thundering herd.

Light on purpose (no HTTP stack, no pydantic): it is the whole of `signup --no-apply`, and all that
most processes of a burst ever run. When a backend starts 100 `signup` processes at once, each records
its event; then ONE of them takes the drain lock and drains the queue in batches while the others
wait for their own event to be settled. A burst costs one HTTP stack, one OAuth2 token and a few
batch calls, instead of 100 of each competing for the same rows.
"""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mautic_ctl.errors import InputError
from mautic_ctl.events import Event, EventKind
from mautic_ctl.store import erasure
from mautic_ctl.store import queue as q
from mautic_ctl.store.db import drain_lock_path

CHUNK = 500  # events per write transaction: short enough never to hold the write lock for long


def record_many(conn: sqlite3.Connection, events: Sequence[Event]) -> list[q.Enqueued]:
    """Record events (a duplicate is acknowledged with its first outcome), a chunk per transaction.

    The one way an event enters the queue: the CLI commands, `ingest`, `POST /events` and the demo all
    come through here. Refused before anything is written: an event whose contact nobody could create
    (no email, and none known for the user, nor given earlier in the same batch), and an event of a
    deleted user (unless a signup for it comes first).
    """
    emails = {e.user_id for e in events if e.email is not None}
    signed_up: set[str] = set()
    for event in events:
        if event.kind is EventKind.SIGNUP:
            signed_up.add(event.user_id)
        elif event.user_id not in signed_up:
            check_not_erased(conn, event)
        new_address_only = event.kind is EventKind.EMAIL_CHANGE and event.user_id not in signed_up
        if new_address_only and not q.user_has_email(conn, event.user_id):
            raise InputError(
                f"user {event.user_id!r} is unknown to mautic-ctl, so its contact cannot be found; "
                "record its signup (or a sync-contact with its current email) first."
            )
        if event.kind not in NO_EMAIL_NEEDED and event.user_id not in emails:
            if not q.user_has_email(conn, event.user_id):
                raise InputError(
                    f"user {event.user_id!r} is unknown to mautic-ctl and no email was given; "
                    'pass --email (or an "email" key) so the Mautic contact can be found or created.'
                )
            emails.add(event.user_id)
    got: list[q.Enqueued] = []
    for start in range(0, len(events), CHUNK):
        got += q.enqueue_many(conn, events[start : start + CHUNK], time.time())
    return got


NO_EMAIL_NEEDED = (EventKind.SIGNUP, EventKind.DELETE_USER)
"""A signup carries its email; a deletion of a user mautic-ctl never knew only erases locally."""


def check_not_erased(conn: sqlite3.Connection, event: Event) -> None:
    """Events of a deleted user are refused, unless it signs up again."""
    if event.kind is not EventKind.SIGNUP:
        when = erasure.erased_at(conn, event.user_id)
        if when is not None:
            day = datetime.fromtimestamp(when, UTC).date().isoformat()
            raise InputError(
                f"user {event.user_id!r} was deleted on {day} (account erasure); only a new signup can bring it back."
            )


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


def result_of(conn: sqlite3.Connection, event: Event, pk: int) -> RecordResult:
    """The event's outcome as it stands in the queue (its first outcome, for a settled event)."""
    status, result, last_error = q.outcome(conn, pk)
    error = last_error if status is not q.Status.DONE else None
    return RecordResult(
        event.event_id, pk, status_word(status), result.get("contact_id"), result.get("transition"), error=error
    )


def record(
    conn: sqlite3.Connection, db: Path, event: Event, *, drain: Callable[[], object] | None = None
) -> RecordResult:
    """Record ``event`` (first, always); with ``drain``, see it applied at once (see ``apply_now``).

    The one recording use case behind `signup`, `plan-change`, `sync-contact` and the demo.
    """
    (got,) = record_many(conn, [event])
    if got.duplicate or drain is None:
        return as_result(event, got)
    apply_now(conn, db, got.pk, drain)
    return result_of(conn, event, got.pk)


def apply_now(
    conn: sqlite3.Connection,
    db: Path,
    pk: int,
    drain: Callable[[], object],
    *,
    timeout: float = 30.0,
    poll: float = 0.05,
) -> None:
    """Return once event ``pk`` is settled, waits for a retry, or ``timeout`` passes.

    Whoever holds the drain lock drains everything due; the others only poll their own row (a
    cheap SQLite read). A waiter that finds the lock free takes it and drains in turn, so an event
    recorded just after the leader's last claim is never stranded. The lock is an flock: a killed
    leader releases it with its process.
    """
    deadline = time.monotonic() + timeout
    with drain_lock_path(db).open("a") as lock:
        while True:
            if q.settled_or_waiting(conn, pk, time.time()):
                return
            if _try_lock(lock):
                try:
                    drain()
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
                return  # we drained: whatever the event's state now, it is the answer
            if time.monotonic() > deadline:
                return
            time.sleep(poll)


def _try_lock(lock: object) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
    except BlockingIOError:
        return False
    return True
