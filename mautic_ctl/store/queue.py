"""The durable event queue: its states, and one function per transition.

::

    enqueue ───> pending ──claim──> processing ──settle: done────────> done ─────────┐
    insert_event   ▲  ▲                │  │  └──settle: superseded──> superseded ─────┤ replay
                   │  └─settle: retry──┘  │   (older than what was applied)           │ (forgets the
                   │    (or 429 deferral) └──settle: dead──> dead <──bury_new         │  mirror's word)
                   ├──────────── revive ◄───────────────────┘   (never applicable)    │
                   └──────────────────────────────────────────────────────────────────┘
    A processing event whose lease expired is claimable again (its worker died); extend_lease and
    save_progress renew a live worker's lease; revive (any open or dead event) and expedite
    (`queue run --now`: pending events in backoff, never a 429's wait) make events due now.
    purge_finished deletes old done / superseded (/ dead) rows.

Delivery is at-least-once; the drain makes application idempotent by recording each operation as
done (``progress``) in the same store, so a retry after a crash does only what is left.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mautic_ctl.events import Event, EventKind
from mautic_ctl.redact import redact, redact_optional
from mautic_ctl.store.db import on_postgres, rows, write


class Status(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    PROCESSING = "processing"  # claimed by a worker until lease_until
    DONE = "done"  # applied to Mautic
    DEAD = "dead"  # gave up: permanent error or too many attempts; `queue retry` revives it
    SUPERSEDED = "superseded"  # older than an event already applied for the user: not applied


OPEN = (Status.PENDING, Status.PROCESSING)
FINISHED = (Status.DONE, Status.DEAD, Status.SUPERSEDED)


@dataclass(frozen=True, slots=True)
class Enqueued:
    pk: int
    duplicate: bool  # the (source, event_id) was already recorded: its first outcome stands
    status: Status
    result: dict[str, Any] | None = None


@dataclass(slots=True)
class Progress:
    """How far one event got: what a retry after a crash must not do again.

    Stored as JSON in ``events.progress``; converted only here, at the store boundary.
    """

    done: list[str] = field(default_factory=list)  # operation keys Mautic confirmed
    uncertain: list[str] = field(default_factory=list)  # campaign entries sent without a clear answer
    contact_id: int | None = None  # the Mautic contact this event is applied to
    replay: bool = False  # replayed with a forgotten mirror: ask Mautic before any campaign entry
    before: dict[str, Any] | None = None  # the live state a not-first-hand user's plan started from
    adopted_from: list[str] = field(default_factory=list)  # user ids that owned the contact before
    shared_with: list[str] = field(default_factory=list)  # refused: the user ids that own the contact

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        if self.done:
            data["done"] = self.done
        if self.uncertain:
            data["uncertain"] = self.uncertain
        if self.contact_id is not None:
            data["contact_id"] = self.contact_id
        if self.replay:
            data["replay"] = True
        if self.before is not None:
            data["before"] = self.before
        if self.adopted_from:
            data["adopted_from"] = self.adopted_from
        if self.shared_with:
            data["shared_with"] = self.shared_with
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Progress:
        data = json.loads(text) if text else {}
        return cls(
            list(data.get("done", ())),
            list(data.get("uncertain", ())),
            data.get("contact_id"),
            bool(data.get("replay")),
            data.get("before"),
            list(data.get("adopted_from", ())),
            list(data.get("shared_with", ())),
        )

    def mark_done(self, key: str) -> None:
        if key not in self.done:
            self.done.append(key)
        if key in self.uncertain:
            self.uncertain.remove(key)

    def mark_uncertain(self, key: str) -> None:
        if key not in self.uncertain:
            self.uncertain.append(key)


@dataclass(slots=True)
class Claimed:
    pk: int
    event: Event
    attempts: int  # including this one
    progress: Progress = field(default_factory=Progress)
    followers: list[Claimed] = field(default_factory=list)  # a login's coalesced later logins

    @property
    def effective(self) -> Event:
        """The event to apply: a login with followers stands for the newest of them."""
        if not self.followers:
            return self.event
        newest = max((f.event.occurred_at for f in self.followers), default=self.event.occurred_at)
        return replace(self.event, occurred_at=max(newest, self.event.occurred_at))


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


# --- enqueue ----------------------------------------------------------------------------------

SQL_INSERT = """
INSERT INTO events (source, event_id, user_id, kind, payload, occurred_at, status, next_attempt_at,
                    created_at, updated_at)
VALUES (:source, :event_id, :user_id, :kind, :payload, :occurred_at, 'pending', :now, :now, :now)
ON CONFLICT (source, event_id) DO NOTHING
RETURNING id"""

SQL_FIND = "SELECT id, status, result FROM events WHERE source = ? AND event_id = ?"


def enqueue_many(conn: sqlite3.Connection, events: Sequence[Event], now: float) -> list[Enqueued]:
    """Record events in one transaction; duplicates are acknowledged with their first outcome."""
    with write(conn):
        return [insert_event(conn, event, now) for event in events]


def enqueue(conn: sqlite3.Connection, event: Event, now: float) -> Enqueued:
    return enqueue_many(conn, [event], now)[0]


def insert_event(conn: sqlite3.Connection, event: Event, now: float) -> Enqueued:
    """Insert inside an open write transaction (the caller holds it), or acknowledge a duplicate."""
    row = conn.execute(
        SQL_INSERT,
        {
            "source": event.source,
            "event_id": event.event_id,
            "user_id": event.user_id,
            "kind": event.kind.value,
            "payload": event.to_json(),
            "occurred_at": event.occurred_at.isoformat(),
            "now": now,
        },
    ).fetchone()
    if row is not None:
        return Enqueued(row[0], False, Status.PENDING)
    pk, status, result = conn.execute(SQL_FIND, (event.source, event.event_id)).fetchone()
    return Enqueued(pk, True, Status(status), json.loads(result) if result else None)


def user_has_email(conn: sqlite3.Connection, user_id: str) -> bool:
    """Whether a contact can be created for this user: the mirror or a recorded event has an email."""
    sql = """SELECT 1 FROM users WHERE user_id = :u AND (email IS NOT NULL OR contact_id IS NOT NULL)
             UNION ALL SELECT 1 FROM events WHERE user_id = :u AND status != 'dead'
               AND json_extract(payload, '$.email') IS NOT NULL LIMIT 1"""
    return conn.execute(sql, {"u": user_id}).fetchone() is not None


# --- streams of facts ------------------------------------------------------------------------

SQL_NEWER_APPLIED = """
SELECT event_id, occurred_at, kind FROM events INDEXED BY events_user
WHERE user_id = :user_id AND status = 'done' AND occurred_at > :occurred_at
  AND CASE WHEN source IN ('stripe', 'lemonsqueezy') THEN 1 ELSE 0 END = :billing
ORDER BY occurred_at DESC"""

SQL_BILLING_PLAN = """
SELECT event_id FROM events INDEXED BY events_user
WHERE user_id = ? AND status = 'done' AND kind IN ('signup', 'plan_change') AND source IN ('stripe', 'lemonsqueezy')
ORDER BY id DESC LIMIT 1"""


def newer_applied(
    conn: sqlite3.Connection, event: Event, *, billing: bool, kinds: Iterable[str]
) -> tuple[str, str] | None:
    """(event id, occurred_at) of a newer event of one of ``kinds``, same user and stream, already applied."""
    wanted = {str(k) for k in kinds}
    params = {"user_id": event.user_id, "occurred_at": event.occurred_at.isoformat(), "billing": int(billing)}
    for event_id, occurred_at, kind in conn.execute(SQL_NEWER_APPLIED, params):
        if kind in wanted:
            return event_id, occurred_at
    return None


def billing_plan_event(conn: sqlite3.Connection, user_id: str) -> str | None:
    """The id of the newest applied billing event that decided this user's plan, if any."""
    row = conn.execute(SQL_BILLING_PLAN, (user_id,)).fetchone()
    return row[0] if row is not None else None


# --- claim ------------------------------------------------------------------------------------

# One statement: due, unleased (or lease expired), the oldest unfinished event of its user, and no
# other event of the user in flight (a consent event may have been claimed ahead of it, below).
# INDEXED BY pins the partial indexes: without it SQLite picks events_status plus a sort, and once
# ANALYZE statistics exist, a full scan of events in id order that walks every finished row first.
SQL_CLAIM = """
UPDATE events
SET status = 'processing', lease_until = :lease_until, lease_owner = :owner,
    attempts = attempts + 1, updated_at = :now
WHERE id IN (
    SELECT e.id FROM events AS e INDEXED BY events_open
    WHERE e.status IN ('pending', 'processing')
      AND e.next_attempt_at <= :now
      AND (e.status = 'pending' OR e.lease_until <= :now)
      AND NOT EXISTS (
          SELECT 1 FROM events AS o INDEXED BY events_open_user
          WHERE o.user_id = e.user_id AND o.status IN ('pending', 'processing') AND o.id < e.id)
      AND NOT EXISTS (
          SELECT 1 FROM events AS p INDEXED BY events_open_user
          WHERE p.user_id = e.user_id AND p.status IN ('pending', 'processing') AND p.id > e.id
            AND p.status = 'processing' AND p.lease_until > :now)
      AND (:user_id IS NULL OR e.user_id = :user_id)
    ORDER BY e.id
    LIMIT :limit)
RETURNING id, payload, attempts, progress"""

# PostgreSQL: the same statement, with the candidates row-locked FOR UPDATE SKIP LOCKED, so workers on
# many hosts claim in parallel and never take the same event. A candidate another worker changed
# meanwhile is re-checked against the WHERE clause after its lock is taken (READ COMMITTED).
SQL_CLAIM_PG = """
WITH picked AS (
    SELECT e.id FROM events AS e
    WHERE e.status IN ('pending', 'processing')
      AND e.next_attempt_at <= :now
      AND (e.status = 'pending' OR e.lease_until <= :now)
      AND NOT EXISTS (
          SELECT 1 FROM events AS o
          WHERE o.user_id = e.user_id AND o.status IN ('pending', 'processing') AND o.id < e.id)
      AND NOT EXISTS (
          SELECT 1 FROM events AS p
          WHERE p.user_id = e.user_id AND p.id > e.id AND p.status = 'processing' AND p.lease_until > :now)
      AND (CAST(:user_id AS TEXT) IS NULL OR e.user_id = :user_id)
    ORDER BY e.id
    LIMIT :limit
    FOR UPDATE OF e SKIP LOCKED)
UPDATE events
SET status = 'processing', lease_until = :lease_until, lease_owner = :owner,
    attempts = events.attempts + 1, updated_at = :now
FROM picked WHERE events.id = picked.id
RETURNING events.id, events.payload, events.attempts, events.progress"""

# Consent first: an unsubscribe / resubscribe is claimable ahead of its user's older events (a plan
# change waiting out a backoff must not hold back a consent withdrawal for hours), once the contact
# exists and while no other event of the user is in flight. Consent events keep their own order.
# This and the next statement run on both stores (INDEXED BY is dropped for PostgreSQL); the outer
# state check makes a row another worker claimed meanwhile drop out after its lock wait (READ COMMITTED).
SQL_CLAIM_CONSENT = """
UPDATE events
SET status = 'processing', lease_until = :lease_until, lease_owner = :owner,
    attempts = attempts + 1, updated_at = :now
WHERE id IN (
    SELECT e.id FROM events AS e INDEXED BY events_open_consent
    WHERE e.status IN ('pending', 'processing') AND e.kind IN ('unsubscribe', 'resubscribe')
      AND e.next_attempt_at <= :now
      AND (e.status = 'pending' OR e.lease_until <= :now)
      AND NOT EXISTS (
          SELECT 1 FROM events AS c INDEXED BY events_open_consent
          WHERE c.status IN ('pending', 'processing') AND c.kind IN ('unsubscribe', 'resubscribe')
            AND c.user_id = e.user_id AND c.id < e.id)
      AND NOT EXISTS (
          SELECT 1 FROM events AS p INDEXED BY events_open_user
          WHERE p.user_id = e.user_id AND p.status IN ('pending', 'processing') AND p.id != e.id
            AND p.status = 'processing' AND p.lease_until > :now)
      AND EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = e.user_id AND u.contact_id IS NOT NULL)
      AND (CAST(:user_id AS TEXT) IS NULL OR e.user_id = :user_id)
    ORDER BY e.id
    LIMIT :limit)
  AND status IN ('pending', 'processing') AND (status = 'pending' OR lease_until <= :now)
RETURNING id, payload, attempts, progress"""

# Logins are coalesced: with a claimed login come the user's next logins up to its next other event
# (only the newest login matters), so a burst of logins costs one field update per user, not one each.
SQL_CLAIM_LOGINS = """
UPDATE events
SET status = 'processing', lease_until = :lease_until, lease_owner = :owner,
    attempts = attempts + 1, updated_at = :now
WHERE id IN (
    SELECT f.id FROM events AS f INDEXED BY events_open_user
    WHERE f.user_id = :user AND f.status IN ('pending', 'processing') AND f.id > :leader
      AND f.kind = 'login' AND (f.status = 'pending' OR f.lease_until <= :now)
      AND NOT EXISTS (
          SELECT 1 FROM events AS o INDEXED BY events_open_user
          WHERE o.user_id = :user AND o.status IN ('pending', 'processing') AND o.id > :leader
            AND o.id < f.id AND o.kind != 'login')
    ORDER BY f.id
    LIMIT :cap)
  AND status IN ('pending', 'processing') AND (status = 'pending' OR lease_until <= :now)
RETURNING id, payload, attempts, progress"""
MAX_COALESCED = 1000  # logins folded into one per claim: bounds a round's settle


def claim(
    conn: sqlite3.Connection, *, limit: int, lease_s: float, now: float, owner: str, user_id: str | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` due events, at most one per user (its oldest unfinished one, or its first
    consent event once the contact exists); a claimed login carries the user's following logins."""
    params = {"now": now, "lease_until": now + lease_s, "owner": owner, "limit": limit, "user_id": user_id}
    with write(conn, exclusive=False):
        got = conn.execute(SQL_CLAIM_CONSENT, params).fetchall()
        if len(got) < limit:
            main = SQL_CLAIM_PG if on_postgres(conn) else SQL_CLAIM
            got += conn.execute(main, params | {"limit": limit - len(got)}).fetchall()
        claimed = [_claimed(row) for row in got]
        for c in claimed:
            if c.event.kind is EventKind.LOGIN:
                more = conn.execute(
                    SQL_CLAIM_LOGINS, params | {"user": c.event.user_id, "leader": c.pk, "cap": MAX_COALESCED}
                ).fetchall()
                c.followers = sorted((_claimed(row) for row in more), key=lambda f: f.pk)
    claimed.sort(key=lambda c: c.pk)
    return claimed


def _claimed(row: Sequence[Any]) -> Claimed:
    pk, payload, attempts, progress = row
    return Claimed(pk, Event.from_dict(json.loads(payload)), attempts, Progress.from_json(progress))


SQL_RENEW = """UPDATE events SET lease_until = coalesce(:until, lease_until), progress = coalesce(:progress, progress)
               WHERE id = :pk AND lease_owner = :owner AND status = 'processing'"""


def extend_lease(conn: sqlite3.Connection, pks: Iterable[int], *, until: float, owner: str) -> set[int]:
    """The worker's heartbeat: push its leases to ``until``; returns the events it no longer holds."""
    return _renew(conn, [(pk, None) for pk in pks], until=until, owner=owner)


def holds_lease(conn: sqlite3.Connection, pk: int, *, owner: str, now: float) -> bool:
    """Whether ``owner`` still holds the unexpired lease of event ``pk``, so no other worker can claim it."""
    sql = "SELECT 1 FROM events WHERE id = ? AND lease_owner = ? AND status = 'processing' AND lease_until > ?"
    return conn.execute(sql, (pk, owner, now)).fetchone() is not None


def save_progress(
    conn: sqlite3.Connection,
    items: Iterable[tuple[int, Progress]],
    *,
    owner: str | None = None,
    lease_until: float | None = None,
) -> set[int]:
    """Record what is done (or in flight) for several events in one transaction.

    With ``owner``, only events still leased to it are written (and their lease renewed to
    ``lease_until``); the others are returned: another worker took them over after our lease
    expired, so this worker must stop working on them (and above all not send a campaign entry).
    """
    items = [(pk, progress.to_json()) for pk, progress in items]
    if owner is not None:
        return _renew(conn, items, until=lease_until, owner=owner)
    with write(conn, exclusive=False):
        conn.executemany("UPDATE events SET progress = ? WHERE id = ?", [(p, pk) for pk, p in items])
    return set()


def _renew(
    conn: sqlite3.Connection, items: list[tuple[int, str | None]], *, until: float | None, owner: str
) -> set[int]:
    lost = set()
    with write(conn, exclusive=False):
        for pk, progress in items:
            params = {"until": until, "progress": progress, "pk": pk, "owner": owner}
            if conn.execute(SQL_RENEW, params).rowcount == 0:
                lost.add(pk)
    return lost


# --- settle -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one claimed event ends this attempt."""

    pk: int
    status: Status  # DONE, DEAD, SUPERSEDED, or PENDING (retry/defer)
    progress: Progress
    result: dict[str, Any] | None = None
    error: str | None = None
    next_attempt_at: float | None = None  # for PENDING
    counts_as_attempt: bool = True  # False for a rate-limit deferral


def settle(
    conn: sqlite3.Connection,
    settlements: Sequence[Settlement],
    now: float,
    *,
    mirror_updates: Sequence[dict[str, Any]] = (),
    owner: str | None = None,
    also: Sequence[Callable[[sqlite3.Connection], None]] = (),
) -> set[int]:
    """Apply the outcome of a drain round in one transaction: statuses, error history, and the
    users' mirror (so a user's mirror never disagrees with which of its events are done).

    With ``owner``, nothing is written if any of the events is no longer leased to it (another
    worker took it over): their ids are returned, for the caller to settle the others without them.
    ``also`` runs last in the same transaction (an account erasure must commit with its event, or not).
    """
    from mautic_ctl.store.mirror import SQL_UPSERT_USER

    with write(conn, exclusive=False):
        if owner is not None:
            # A no-op UPDATE rather than a SELECT: on PostgreSQL it row-locks the events until the
            # settle commits, so no other worker can claim one between this check and the writes below.
            lost = {s.pk for s in settlements} - _still_held(conn, [s.pk for s in settlements], owner)
            if lost:
                return lost
        conn.executemany(SQL_UPSERT_USER, mirror_updates)
        conn.executemany(
            """UPDATE events SET status = ?, progress = ?, result = coalesce(?, result),
                   last_error = coalesce(?, last_error), next_attempt_at = coalesce(?, next_attempt_at),
                   lease_until = NULL, lease_owner = NULL, updated_at = ?, finished_at = ?,
                   attempts = attempts - ?
               WHERE id = ?""",
            [
                (
                    s.status.value,
                    s.progress.to_json(),
                    json.dumps(s.result, sort_keys=True) if s.result is not None else None,
                    redact_optional(s.error),
                    s.next_attempt_at,
                    now,
                    now if s.status in FINISHED else None,
                    0 if s.counts_as_attempt else 1,
                    s.pk,
                )
                for s in settlements
            ],
        )
        conn.executemany(
            """INSERT INTO event_errors (event_pk, at, attempt, error, outcome)
               SELECT id, ?, attempts, ?, ? FROM events WHERE id = ?""",
            [(now, redact(s.error), _error_outcome(s), s.pk) for s in settlements if s.error],
        )
        for step in also:
            step(conn)
    return set()


def _error_outcome(s: Settlement) -> str:
    if not s.counts_as_attempt:
        return "deferred"
    return {Status.DEAD: "dead", Status.PENDING: "retry"}.get(s.status, s.status.value)


def _still_held(conn: sqlite3.Connection, pks: Sequence[int], owner: str) -> set[int]:
    """Which of ``pks`` are still leased to ``owner`` (row-locked until the transaction ends)."""
    held: set[int] = set()
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        got = conn.execute(
            f"""UPDATE events SET lease_owner = lease_owner
                WHERE id IN ({marks}) AND lease_owner = ? AND status = 'processing' RETURNING id""",
            (*chunk, owner),
        ).fetchall()
        held.update(r[0] for r in got)
    return held


def bury_new(conn: sqlite3.Connection, event: Event, reason: str, now: float) -> Enqueued:
    """Record an event straight into dead (e.g. a webhook whose user cannot be found): never dropped."""
    reason = redact(reason)
    with write(conn):
        got = insert_event(conn, event, now)
        if not got.duplicate:
            conn.execute(
                "UPDATE events SET status = 'dead', last_error = ?, finished_at = ? WHERE id = ?",
                (reason, now, got.pk),
            )
            conn.execute(
                "INSERT INTO event_errors (event_pk, at, attempt, error, outcome) VALUES (?, ?, 0, ?, 'dead')",
                (got.pk, now, reason),
            )
            return Enqueued(got.pk, False, Status.DEAD)
    return got


# --- operator commands ------------------------------------------------------------------------


def revive(conn: sqlite3.Connection, pks: Sequence[int] | None, now: float) -> list[int]:
    """Events back to pending, due ``now``, with fresh attempts: the given ones if they are not
    finished and not being applied (dead, pending however long deferred, or processing with an
    expired lease), or with ``pks=None`` every dead event. Returns the ids revived."""
    sql = """UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?,
                 finished_at = NULL, lease_until = NULL, lease_owner = NULL
             WHERE {where} RETURNING id"""
    with write(conn):
        if pks is None:
            got = conn.execute(sql.format(where="status = 'dead'"), (now, now)).fetchall()
        else:
            revivable = """id = ? AND (status IN ('dead', 'pending')
                           OR (status = 'processing' AND (lease_until IS NULL OR lease_until <= ?)))"""
            got = []
            for pk in pks:
                got += conn.execute(sql.format(where=revivable), (now, now, pk, now)).fetchall()
    return sorted(r[0] for r in got)


def expedite(conn: sqlite3.Connection, now: float) -> int:
    """`queue run --now`: pending events waiting out a backoff become due; a 429's wait is kept
    (Mautic would only refuse them again until its limit resets)."""
    with write(conn):
        cur = conn.execute(
            """UPDATE events SET next_attempt_at = :now
               WHERE status = 'pending' AND next_attempt_at > :now
                 AND coalesce((SELECT outcome FROM event_errors WHERE event_pk = events.id
                               ORDER BY id DESC LIMIT 1), '') != 'deferred'""",
            {"now": now},
        )
    return cur.rowcount


def last_open_error(conn: sqlite3.Connection) -> str | None:
    """The latest error among the events still open: what a `queue run` summary names."""
    row = conn.execute(
        """SELECT last_error FROM events WHERE status IN ('pending', 'processing') AND last_error IS NOT NULL
           ORDER BY updated_at DESC, id DESC LIMIT 1"""
    ).fetchone()
    return row[0] if row else None


def replay(conn: sqlite3.Connection, *, since: str, user_id: str | None, now: float) -> list[int]:
    """Put finished events that occurred since ``since`` back in the queue, flagged as replays.

    A replay re-asserts the events on Mautic as if our mirror were lost: the users' mirrored
    memberships are forgotten (contact ids kept) and the drain checks Mautic before any campaign
    entry, so re-applying never enters a campaign twice.
    """
    with write(conn):
        params: dict[str, Any] = {"since": since, "now": now, "user": user_id}
        user_filter = "AND user_id = :user" if user_id is not None else ""
        # A replayed payment adds its amount to lifetime_value again: take it out of the mirror first,
        # or every replay would inflate the contact's lifetime value.
        paid = conn.execute(
            f"""SELECT user_id, sum(coalesce(CAST(json_extract(payload, '$.amount') AS REAL), 0)) FROM events
                WHERE occurred_at >= :since AND status = 'done' AND kind = 'payment' {user_filter}
                GROUP BY user_id""",
            params,
        ).fetchall()
        conn.executemany(
            "UPDATE users SET lifetime_value = max(0, round(lifetime_value - ?, 2)) WHERE user_id = ?",
            [(amount, u) for u, amount in paid],
        )
        # Likewise a replayed product event is counted again: take it out of the user's counts first.
        tracked = conn.execute(
            f"""SELECT user_id, json_extract(payload, '$.name'), count(*) FROM events
                WHERE occurred_at >= :since AND status = 'done' AND kind = 'track' {user_filter}
                GROUP BY 1, 2""",
            params,
        ).fetchall()
        uncount: dict[str, dict[str, int]] = {}
        for u, name, n in tracked:
            uncount.setdefault(u, {})[name] = n
        for u, names in uncount.items():
            row = conn.execute("SELECT counts FROM users WHERE user_id = ?", (u,)).fetchone()
            counts = json.loads(row[0] or "{}") if row else {}
            counts = {k: max(0, v - names.get(k, 0)) for k, v in counts.items()}
            conn.execute("UPDATE users SET counts = ? WHERE user_id = ?", (json.dumps(dict(sorted(counts.items()))), u))
        got = conn.execute(
            f"""UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = :now,
                    updated_at = :now, finished_at = NULL, progress = '{{"replay": true}}'
                WHERE occurred_at >= :since AND status IN ('done', 'superseded') {user_filter}
                RETURNING id, user_id""",
            params,
        ).fetchall()
        users = sorted({r[1] for r in got})
        conn.executemany(
            """UPDATE users SET tier = NULL, status = NULL, segments = '[]', campaigns = '[]',
                   last_event_at = NULL WHERE user_id = ?""",
            [(u,) for u in users],
        )
    return sorted(r[0] for r in got)


def purge_finished(
    conn: sqlite3.Connection, *, before: float, statuses: Sequence[Status], dry_run: bool = False
) -> int:
    """Delete (or with ``dry_run`` count) finished events in ``statuses`` finished before ``before``."""
    marks = ",".join("?" for _ in statuses)
    if dry_run:
        return conn.execute(
            f"SELECT count(*) FROM events WHERE status IN ({marks}) AND finished_at < ?",
            (*[s.value for s in statuses], before),
        ).fetchone()[0]
    with write(conn):
        cur = conn.execute(
            f"DELETE FROM events WHERE status IN ({marks}) AND finished_at < ?",
            (*[s.value for s in statuses], before),
        )
    return cur.rowcount


def list_events(
    conn: sqlite3.Connection, *, status: Status | None, user_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    where, params = [], []
    if status is not None:
        where.append("status = ?")
        params.append(status.value)
    if user_id is not None:
        where.append("user_id = ?")
        params.append(user_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return rows(
        conn,
        f"""SELECT id, source, event_id, user_id, kind, occurred_at, status, attempts, next_attempt_at,
                   last_error FROM events {clause} ORDER BY id DESC LIMIT ?""",
        (*params, limit),
    )


def get_event(conn: sqlite3.Connection, pk: int) -> dict[str, Any] | None:
    found = rows(conn, "SELECT * FROM events WHERE id = ?", (pk,))
    if not found:
        return None
    event = found[0]
    event["errors"] = rows(
        conn, "SELECT at, attempt, error, outcome FROM event_errors WHERE event_pk = ? ORDER BY id", (pk,)
    )
    return event


def outcome(conn: sqlite3.Connection, pk: int) -> tuple[Status, dict[str, Any], str | None]:
    """(status, result, last error) of event ``pk``: what a recording command reports."""
    row = conn.execute("SELECT status, result, last_error FROM events WHERE id = ?", (pk,)).fetchone()
    return Status(row[0]), (json.loads(row[1]) if row[1] else {}), row[2]


def settled_or_waiting(conn: sqlite3.Connection, pk: int, now: float) -> bool:
    """Event ``pk`` is finished, or failed and waits for a scheduled retry."""
    status, attempts, next_at = conn.execute(
        "SELECT status, attempts, next_attempt_at FROM events WHERE id = ?", (pk,)
    ).fetchone()
    if status in FINISHED:
        return True
    return status == Status.PENDING and attempts > 0 and next_at > now


def stats(conn: sqlite3.Connection, now: float) -> dict[str, Any]:
    counts = {s.value: 0 for s in Status}
    for status, n in conn.execute("SELECT status, count(*) FROM events GROUP BY status"):
        counts[status] = n
    due = conn.execute(
        """SELECT count(*), min(created_at) FROM events WHERE status IN ('pending', 'processing')
           AND next_attempt_at <= ? AND (status = 'pending' OR lease_until <= ?)""",
        (now, now),
    ).fetchone()
    nxt = conn.execute("SELECT min(next_attempt_at) FROM events WHERE status = 'pending'").fetchone()[0]
    return {
        "counts": counts,
        "due": due[0],
        "oldest_due_age_s": round(now - due[1], 1) if due[1] is not None else None,
        "next_attempt_at": nxt,
    }


def next_due_at(conn: sqlite3.Connection) -> float | None:
    """When the next unfinished event comes due: a scheduled attempt, or a lease that will expire."""
    row = conn.execute(
        """SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END)
           FROM events WHERE status IN ('pending', 'processing')"""
    ).fetchone()
    return row[0]
