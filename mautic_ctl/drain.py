"""The worker: claim due events, plan each with the rules, apply in batches, settle.

One round handles at most one event per user (the claim guarantees it; a login stands for the user's
following queued logins, which settle with it), so every event of a round can proceed in parallel.
A round runs in phases, each ending with its progress committed:

1. contacts: creates through ``batch/new`` (≤ batch limit per call), field and tag updates through
   ``batch/edit`` (an email change to another contact's address ends as ``lifecycle.on_email_conflict`` says);
2. segment joins, grouped by segment, through the batch-add endpoint;
3. calls Mautic cannot batch (segment leave, campaign enter/leave, Do Not Contact, points, contact
   deletion or anonymisation) with bounded concurrency.

An account deletion erases the user from the store in the transaction that settles it (store/erasure.py).

Crash safety: an operation is recorded as done once Mautic confirmed it, and a campaign entry (or a
points change) is recorded as *in flight* before it is sent; an in-flight points change is never re-sent.
After a crash (or an ambiguous failure) the next attempt
does only what is left, and checks Mautic's membership before repeating an in-flight campaign entry,
so no contact ever enters a campaign twice.

Leases: while a round runs, a heartbeat renews its leases every ``lease / 3`` seconds, so only a
dead (or stalled) worker's events come due again. Every progress commit, every campaign entry and
the final settle are guarded by the lease: a worker that finds an event taken over (it stalled past
its lease) stops working on it at once and leaves its settlement to the new owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from mautic_ctl import identity
from mautic_ctl.errors import (
    ContactGone,
    EmailConflict,
    LeaseLost,
    MauticCtlError,
    MauticError,
    NotFound,
    PermanentError,
    RuleError,
)
from mautic_ctl.events import Event, EventKind
from mautic_ctl.experiments import Book, Entry, arms_of, plan_event
from mautic_ctl.mautic import responses
from mautic_ctl.mautic.client import MauticClient, RequestRecord
from mautic_ctl.mautic.live import LiveContact, LiveRead, read_contacts
from mautic_ctl.retry import RetryPolicy, decide, describe
from mautic_ctl.rules import STATE_KINDS, Op, OpKind, Plan, Policy, Transition, UserState, stale
from mautic_ctl.store import erasure, mirror
from mautic_ctl.store import experiments as exp_store
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Claimed, Progress, Settlement, Status
from mautic_ctl.streams import is_billing, plan_facts_yield
from mautic_ctl.verdict import DrainReport

current_event: contextvars.ContextVar[int | tuple[int, ...] | None] = contextvars.ContextVar(
    "current_event", default=None
)
"""The event (or, for a batch call, the events) the Mautic call being made serves: for the audit trail."""


@contextlib.contextmanager
def serving(jobs: Iterable[Job]) -> Iterator[None]:
    """Attribute the calls made inside to these jobs' events (a batch call serves several)."""
    token = current_event.set(tuple(dict.fromkeys(job.claimed.pk for job in jobs)))
    try:
        yield
    finally:
        current_event.reset(token)


@dataclass(frozen=True, slots=True)
class DrainOptions:
    limit: int | None = None  # events to process at most
    max_seconds: float | None = None  # stop claiming new rounds after this
    batch_size: int = 200  # events per round
    concurrency: int = 8  # unbatchable calls in flight
    lease: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batched: bool = True  # False: one call per operation, sequentially (the seed's design; benchmarks)
    user_id: str | None = None  # only this user's events (apply-at-once after recording)
    on_shared_contact: identity.OnShared = identity.OnShared.ADOPT  # [identity] on_shared_contact
    courtesy: bool = False  # the apply-at-once after recording: a first attempt that fails stays due


@dataclass(slots=True)
class Job:
    """One claimed event being applied in this round."""

    claimed: Claimed
    plan: Plan
    contact_id: int | None
    verify: frozenset[str] = frozenset()  # campaign entries that may already have reached Mautic
    before: UserState = field(default_factory=UserState)  # what the plan started from (mirror or live)
    disown: frozenset[str] = frozenset()  # other user ids the mirror gave this contact (adopted from)
    error: BaseException | None = None
    entries: tuple[Entry, ...] = ()  # campaign slots this event enters, with the experiment arm of each
    lost: bool = False  # our lease was taken over: another worker owns the event now
    notes: dict[str, Any] = field(default_factory=dict)  # extra outcome (erasure, a skipped email change)

    @property
    def progress(self) -> Progress:
        return self.claimed.progress

    def pending(self, kind: OpKind) -> list[Op]:
        if self.error is not None:
            return []
        done = set(self.progress.done)
        return [op for op in self.plan.ops if op.kind is kind and op.key not in done]

    def mark_done(self, op: Op) -> None:
        self.progress.mark_done(op.key)

    def skip_blind(self) -> None:
        """A contact Mautic just created is in no segment or campaign: nothing to leave."""
        for op in self.plan.ops:
            if op.blind:
                self.mark_done(op)

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc


Resolve = Callable[[str, str], int]  # (kind "segment"|"campaign", logical key) -> Mautic id


class Drain:
    """Drains the queue into Mautic. ``now`` is injectable so tests control the clock."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        client: MauticClient,
        policy: Policy,
        resolve: Resolve,
        options: DrainOptions,
        *,
        now: Callable[[], float] = time.time,
        on_progress: Callable[[DrainReport], None] | None = None,
        book: Book | None = None,
    ) -> None:
        self.conn, self.client, self.policy, self.resolve, self.opts = conn, client, policy, resolve, options
        self.book = book  # campaign experiments: which arm's campaign a slot entry really is
        self.now, self.on_progress = now, on_progress
        self.owner = q.worker_name()
        self.report = DrainReport()
        self.stop_requested = False  # set by `queue work` on SIGTERM: finish this round, claim no more
        self._audit: list[mirror.AuditRow] = []
        self._billing_plan: dict[str, str | None] = {}  # user -> billing event that decided the plan
        self._left_due: set[int] = set()  # failed courtesy attempts, left due for the next `queue run`
        self._sem = asyncio.Semaphore(options.concurrency if options.batched else 1)
        self._reverse: tuple[dict[int, str], dict[int, str]] | None = None
        self.held: set[int] = set()  # events put back for a later round of this run (one per email)

    def record_request(self, rec: RequestRecord) -> None:
        """The client's ``on_request`` hook: buffer one audit row (flushed with each progress commit)."""
        self.report.calls += 1
        self._audit.append(
            (
                time.time(),
                rec.method,
                rec.path,
                rec.status,
                round(rec.duration_s * 1000, 2),
                current_event.get(),
                rec.error,
            )
        )

    async def run(self) -> DrainReport:
        start = time.monotonic()
        try:
            while not self.stop_requested:
                remaining = None if self.opts.limit is None else self.opts.limit - self.report.processed
                if remaining is not None and remaining <= 0:
                    break
                if self.opts.max_seconds is not None and time.monotonic() - start >= self.opts.max_seconds:
                    break
                size = self.opts.batch_size if remaining is None else min(remaining, self.opts.batch_size)
                claimed = q.claim(
                    self.conn, limit=size, lease_s=self.opts.lease, now=self.now(), owner=self.owner,
                    user_id=self.opts.user_id,
                )  # fmt: skip
                if not claimed:
                    break
                deferred = self.report.deferred
                await self.round(claimed)
                if self.on_progress:
                    self.on_progress(self.report)
                if self.report.deferred > deferred:
                    break  # Mautic's hourly rate limit is spent (or it refuses us): more rounds would fail too
                if self._left_due:
                    break  # a failed courtesy attempt stays due for `queue run`, not for another round now
        finally:
            self.flush_audit()
            self.report.seconds = time.monotonic() - start
        return self.report

    # --- one round ------------------------------------------------------------------------------

    async def prepare(self, claimed: list[Claimed]) -> tuple[list[Job], list[Settlement], dict[str, mirror.MirrorRow]]:
        """Plan each claimed event (reading Mautic, GET only, for users not known first-hand); events
        that cannot go on (gave up, stale, refused, unplannable) come back as settlements. Writes nothing:
        a dry run calls this alone."""
        self._billing_plan.clear()  # what billing decided may have changed since the last round
        users = mirror.load_users(self.conn, (c.event.user_id for c in claimed))

        assigned = exp_store.load(self.conn, users.keys() | {c.event.user_id for c in claimed}) if self.book else {}
        settlements: list[Settlement] = []
        todo: list[Claimed] = []
        for c in claimed:
            row = users.get(c.event.user_id)
            if c.attempts > self.opts.retry.max_attempts:
                reason = f"gave up after {c.attempts - 1} attempts (its worker stopped each time)"
                settlements += _with_followers(c, Settlement(c.pk, Status.DEAD, c.progress, error=reason))
                continue
            state = row.state if row else UserState()
            event = c.effective  # a login with followers stands for the newest of them
            if row is None and event.kind is not EventKind.SIGNUP and erasure.erased_at(self.conn, event.user_id):
                settlements += _with_followers(c, Settlement(c.pk, Status.DEAD, c.progress, error=erasure.REFUSED))
            elif not c.progress.replay and (superseded := self._superseded(c, event, state, row)) is not None:
                settlements += _with_followers(c, Settlement(c.pk, Status.SUPERSEDED, c.progress, result=superseded))
            else:
                todo.append(c)

        todo = self._one_per_email(todo, users, settlements)
        owners = mirror.contact_owners(self.conn, (r.state.contact_id for r in users.values() if r.state.contact_id))
        cold = [c for c in todo if not self._first_hand(c, users.get(c.event.user_id), owners)]
        # An earlier attempt of the same event already read Mautic: continue its plan from that state.
        live = await self._read_live([c for c in cold if c.progress.before is None], users)
        owners |= mirror.contact_owners(self.conn, (contact.contact_id for contact in live.found.values()))
        cold_pks = {c.pk for c in cold}
        others_rows = mirror.load_users(self.conn, {u for us in owners.values() for u in us} - set(users))

        jobs: list[Job] = []
        for c in todo:
            row = users.get(c.event.user_id)
            state = row.state if row else UserState()
            disown: frozenset[str] = frozenset()
            email = (c.event.email or state.email or "").strip().casefold()
            read_error = live.errors.get(email) if c.pk in cold_pks else None
            if c.pk in cold_pks and c.progress.before is not None:
                state = identity.state_from_dict(c.progress.before)
                disown = frozenset(c.progress.adopted_from)
            elif c.pk in cold_pks and read_error is None:
                contact = live.found.get(email)
                state = self._live_state(contact, state)
                c.progress.before = identity.state_to_dict(state)
                others = owners.get(contact.contact_id, set()) - {c.event.user_id} if contact else set()
                if contact and others and self.opts.on_shared_contact is identity.OnShared.REFUSE:
                    c.progress.shared_with = sorted(others)
                    error = identity.refusal(c.event.user_id, others, contact.contact_id, contact.email)
                    settlements += _with_followers(c, Settlement(c.pk, Status.DEAD, c.progress, error=error))
                    continue
                if others:
                    disown = frozenset(others)
                    c.progress.adopted_from = sorted(others)
            # Once billing decided the user's plan, a product event keeps only its profile facts.
            event = c.effective
            if self._billing_decides(c):
                kept = plan_facts_yield(event, state, self.policy.fields.status)
                assert kept is not None  # a product plan change with nothing left was settled as superseded
                event = kept
            try:
                p, entries = plan_event(event, state, self.policy, self.book, assigned.get(c.event.user_id, {}))
            except RuleError as exc:
                settlements += _with_followers(c, Settlement(c.pk, Status.DEAD, c.progress, error=describe(exc)))
                continue
            verify = frozenset(c.progress.uncertain)
            if c.progress.replay:  # the mirror was forgotten: ask Mautic before any entry
                verify |= {op.key for op in p.ops if op.kind is OpKind.CAMPAIGN_ADD}
            job = Job(c, p, c.progress.contact_id or state.contact_id, verify, state, disown, entries=entries)
            if read_error is not None:
                job.fail(read_error)  # settled below as any failed call: retried, or dead when permanent
            jobs.append(job)
        users |= others_rows
        return jobs, settlements, users

    async def round(self, claimed: list[Claimed]) -> None:
        jobs, settlements, users = await self.prepare(claimed)
        self._keep_assignments(jobs)

        leased = [pk for c in claimed for pk in (c.pk, *(f.pk for f in c.followers))]  # coalesced logins too
        heartbeat = asyncio.create_task(self._heartbeat(leased, jobs))
        try:
            await self._contacts(jobs)
            await self._segment_joins(jobs)
            await self._unbatchable(jobs)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

        now = self.now()
        updates_of: dict[int, list[dict[str, Any]]] = {}
        erasures: dict[int, Callable[[sqlite3.Connection], None]] = {}
        for job in jobs:
            if not job.lost:
                updates_of[job.claimed.pk] = []
                settled = self._settle(job, now, users, updates_of[job.claimed.pk])
                settlements += _with_followers(job.claimed, settled)
                if settled.status is Status.DONE and job.plan.transition is Transition.DELETE:
                    erasures[job.claimed.pk] = self._erasure(job, now)
        while settlements:  # settle only what we still hold: a taken-over event is its new worker's
            mirror_updates = [u for s in settlements for u in updates_of.get(s.pk, ())]
            also = [erasures[s.pk] for s in settlements if s.pk in erasures]
            lost = q.settle(self.conn, settlements, now, mirror_updates=mirror_updates, owner=self.owner, also=also)
            if not lost:
                break
            settlements = [s for s in settlements if s.pk not in lost]
        if any(s.pk in erasures for s in settlements):
            erasure.checkpoint(self.conn)  # the WAL still holds the erased pages as they were
        self.flush_audit()
        for s in settlements:
            self._count(s)

    def _one_per_email(
        self, todo: list[Claimed], users: dict[str, mirror.MirrorRow], settlements: list[Settlement]
    ) -> list[Claimed]:
        """At most one event per email (one contact) in a round, as the claim does per user: two user ids
        on one contact planned side by side would both plan from the state before the other's ops (two
        Welcome entries). The later ones wait for the next round of this same run (not an attempt)."""
        first: dict[str, str] = {}
        kept: list[Claimed] = []
        for c in todo:
            row = users.get(c.event.user_id)
            email = (c.event.email or (row.state.email if row else None) or "").strip().casefold()
            owner = first.setdefault(email, c.event.user_id) if email else c.event.user_id
            if owner == c.event.user_id:
                kept.append(c)
            else:
                self.held.add(c.pk)
                settlements.append(Settlement(c.pk, Status.PENDING, c.progress, next_attempt_at=self.now(),
                                              counts_as_attempt=False))  # fmt: skip
        return kept

    def _first_hand(self, c: Claimed, row: mirror.MirrorRow | None, owners: dict[int, set[str]]) -> bool:
        """The tool itself established this user's memberships: the mirror can be planned from as is.

        Not first-hand: a user never applied in this database, a contact gone or another user id also
        maps to, a row rebuilt from a read. Those plan from Mautic's live state (read in batches).
        """
        if row is None or not row.state.known or row.state.contact_id is None or not row.first_hand:
            return False
        return owners.get(row.state.contact_id, set()) <= {c.event.user_id}

    async def _read_live(self, cold: list[Claimed], users: dict[str, mirror.MirrorRow]) -> LiveRead:
        """What Mautic holds for these users' emails (GET only); a failed read fails only its users."""
        known = {uid: row.state.email for uid, row in users.items()}
        emails = [e for e in (c.event.email or known.get(c.event.user_id) for c in cold) if e]
        if not emails:
            return LiveRead()
        f = self.policy.fields
        aliases = (f.tier, f.status, f.lifetime_value)
        return await read_contacts(self.client, emails, concurrency=self.opts.concurrency, aliases=aliases)

    def _live_state(self, live: LiveContact | None, fallback: UserState) -> UserState:
        if live is None:
            return identity.live_state(None, {}, (), (), fallback, self.policy)
        segments, campaigns = self._keys()
        return identity.live_state(
            live.contact_id,
            live.fields,
            (segments[sid] for sid in live.segment_ids if sid in segments),
            (campaigns[cid] for cid in live.campaign_ids if cid in campaigns),
            fallback,
            self.policy,
        )

    def _keys(self) -> tuple[dict[int, str], dict[int, str]]:
        """Mautic id -> logical key, for the configured segments and campaigns."""
        if self._reverse is None:
            maps: list[dict[int, str]] = []
            for kind, keys in (("segment", self.policy.segments), ("campaign", self.policy.campaigns)):
                found: dict[int, str] = {}
                for key in sorted(keys):
                    with contextlib.suppress(MauticCtlError):
                        found[self.resolve(kind, key)] = key
                maps.append(found)
            self._reverse = (maps[0], maps[1])
        return self._reverse

    def _keep_assignments(self, jobs: list[Job]) -> None:
        """Store the round's experiment arms before anything reaches Mautic: once made, an arm never
        changes (an arm already stored is left as it is)."""
        arms = [
            exp_store.Assignment(e.experiment, job.claimed.event.user_id, e.arm, e.slot, job.claimed.pk)
            for job in jobs
            for e in job.entries
            if e.experiment and e.arm
        ]
        exp_store.save(self.conn, arms, self.now())

    async def _heartbeat(self, pks: list[int], jobs: list[Job]) -> None:
        """Renew this round's leases while the process lives: only a dead worker's events come due again."""
        while True:
            await asyncio.sleep(self.opts.lease / 3)
            until = self.now() + self.opts.lease
            try:
                self._lose(q.extend_lease(self.conn, pks, until=until, owner=self.owner), jobs)
            except (MauticCtlError, sqlite3.Error):
                continue  # a busy database: try again at the next beat; progress commits check too

    def _lose(self, lost: set[int], jobs: Iterable[Job]) -> None:
        for job in jobs:
            if job.claimed.pk in lost and not job.lost:
                job.lost = True
                job.error = LeaseLost(f"event {job.claimed.pk} was taken over by another worker")

    def _erasure(self, job: Job, now: float) -> Callable[[sqlite3.Connection], None]:
        """The local half of an account deletion, run in the transaction that settles the event."""
        c = job.claimed
        outcome = job.notes.get("erasure", "not_in_mautic")

        def erase(conn: sqlite3.Connection) -> None:
            _, refused = erasure.erase_user(conn, c.event.user_id, delete_pk=c.pk, outcome=outcome, now=now)
            for pk in refused:  # queued behind the deletion: dead now, and reported as such
                self.report.dead += 1
                self.report.outcomes[pk] = {"status": Status.DEAD.value, "error": erasure.REFUSED}

        return erase

    def _superseded(
        self, c: Claimed, event: Event, state: UserState, row: mirror.MirrorRow | None
    ) -> dict[str, Any] | None:
        """Why an event must not be applied, naming what stands instead; None to apply it.

        A state event older than one already applied *in its own stream* (product or billing) would
        overwrite newer state; across streams nothing is compared (their clocks disagree), and a product
        plan change for a user whose plan billing decides has nothing left to apply. Logins and consent
        events are ordered as ``rules.stale`` says.
        """
        if event.kind not in STATE_KINDS:
            return {"superseded_by_event_at": _newer(event, state, row)} if stale(event, state, None) else None
        newer = q.newer_applied(self.conn, event, billing=is_billing(event), kinds=STATE_KINDS)
        if newer is not None:
            return {"superseded_by": newer[0], "superseded_by_event_at": newer[1]}
        if self._billing_decides(c) and plan_facts_yield(c.event, state, self.policy.fields.status) is None:
            return {
                "superseded_by": self._billing_plan[c.event.user_id],
                "reason": "billing decides this user's plan; a product plan change does not override it",
            }
        return None

    def _billing_decides(self, c: Claimed) -> bool:
        """Whether an applied billing event decided this (product) event's user's plan."""
        if is_billing(c.event) or c.event.kind not in (EventKind.SIGNUP, EventKind.PLAN_CHANGE):
            return False
        user_id = c.event.user_id
        if user_id not in self._billing_plan:
            self._billing_plan[user_id] = q.billing_plan_event(self.conn, user_id)
        return self._billing_plan[user_id] is not None

    def _settle(
        self, job: Job, now: float, users: dict[str, mirror.MirrorRow], updates: list[dict[str, Any]]
    ) -> Settlement:
        c = job.claimed
        if job.contact_id is not None:
            c.progress.contact_id = job.contact_id
        if job.error is None:
            after = replace(job.plan.after, contact_id=job.contact_id)
            if "email_conflict_with" in job.notes:  # on_email_conflict = "skip": the address stays
                row = users.get(c.event.user_id)
                after = replace(after, email=row.state.email if row else None)
            event = c.effective
            clock = event.occurred_at if event.kind in STATE_KINDS else None
            result: dict[str, Any] = {
                "contact_id": job.contact_id, "transition": job.plan.transition.value, **job.notes
            }  # fmt: skip
            if job.plan.transition is Transition.DELETE:  # an erased user has no mirror row at all
                result.pop("contact_id")
            else:
                updates.append(mirror.user_params(c.event.user_id, after, clock, now))
                updates.extend(self._disowned(job, users, now))
            if job.entries:  # what the report joins outcomes to: which campaign (or holdout), which arm, which tier
                result |= {"entries": [e.as_dict() for e in job.entries], "tier": after.tier}
                if arms := arms_of(job.entries):
                    result["arms"] = arms
            if job.disown:
                result["adopted_from"] = sorted(job.disown)
            return Settlement(c.pk, Status.DONE, c.progress, result=result)
        courtesy = self.opts.courtesy and c.attempts == 1 and not isinstance(job.error, ContactGone)
        decision = decide(job.error, c.attempts, now, self.opts.retry, courtesy=courtesy)
        if decision.halt:
            self.report.setup_error = decision.reason
        elif courtesy and not decision.dead and decision.counts_as_attempt:
            self._left_due.add(c.pk)
        if isinstance(job.error, ContactGone) and not decision.dead:
            # Forget the deleted contact and everything done to it: the retry upserts a new contact by
            # email and applies the event to it from scratch (the new contact is in nothing yet).
            updates.append(self._forget_contact(c.event.user_id, users, now))
            c.progress = Progress()
        if decision.dead:
            if c.progress.done:
                updates.append(self._partial_mirror(job, users, now))
                updates.extend(self._disowned(job, users, now))
            return Settlement(c.pk, Status.DEAD, c.progress, error=decision.reason)
        return Settlement(
            c.pk,
            Status.PENDING,
            c.progress,
            error=decision.reason,
            next_attempt_at=decision.retry_at,
            counts_as_attempt=decision.counts_as_attempt,
        )

    @staticmethod
    def _mirror_with(user_id: str, users: dict[str, mirror.MirrorRow], now: float, **changes: Any) -> dict[str, Any]:
        """The user's mirror row with ``changes``, keeping its last applied event time (no state event)."""
        row = users.get(user_id)
        state = replace(row.state if row else UserState(), **changes)
        return mirror.user_params(user_id, state, row.last_event_at if row else None, now)

    def _forget_contact(self, user_id: str, users: dict[str, mirror.MirrorRow], now: float) -> dict[str, Any]:
        return self._mirror_with(user_id, users, now, contact_id=None, segments=frozenset(), campaigns=frozenset())

    def _disowned(self, job: Job, users: dict[str, mirror.MirrorRow], now: float) -> list[dict[str, Any]]:
        """The other user ids lose the contact this job adopted (their next event reads Mautic first)."""
        return [self._forget_contact(other, users, now) for other in sorted(job.disown)]

    def _partial_mirror(self, job: Job, users: dict[str, mirror.MirrorRow], now: float) -> dict[str, Any]:
        """A dead event may have applied some operations: the mirror shows exactly those, field by field
        and membership by membership, or the user's next event would plan against a state Mautic does
        not hold. A campaign entry whose outcome is unknown makes the row not first-hand."""
        user_id = job.claimed.event.user_id
        row = users.get(user_id)
        state = job.before
        f = self.policy.fields
        tier, status, email = state.tier, state.status, state.email
        segments, campaigns = set(state.segments), set(state.campaigns)
        done = set(job.progress.done)
        for op in job.plan.ops:
            if op.key not in done:
                continue
            if op.kind in (OpKind.UPSERT, OpKind.UPDATE):
                tier = str(op.fields.get(f.tier, tier)) if op.fields.get(f.tier, tier) is not None else None
                status = str(op.fields.get(f.status, status)) if op.fields.get(f.status, status) is not None else None
                email = str(op.fields.get("email", email)) if op.fields.get("email", email) else email
            elif op.kind is OpKind.SEGMENT_ADD and op.target:
                segments.add(op.target)
            elif op.kind is OpKind.SEGMENT_REMOVE and op.target:
                segments.discard(op.target)
            elif op.kind is OpKind.CAMPAIGN_ADD and op.target:
                campaigns.add(op.target)
            elif op.kind is OpKind.CAMPAIGN_REMOVE and op.target:
                campaigns.discard(op.target)
        partial = replace(
            state, known=state.known or tier is not None or status is not None, contact_id=job.contact_id,
            email=email or job.plan.after.email, tier=tier, status=status, segments=frozenset(segments),
            campaigns=frozenset(campaigns),
        )  # fmt: skip
        first_hand = not job.progress.uncertain
        return mirror.user_params(user_id, partial, row.last_event_at if row else None, now, first_hand=first_hand)

    def _count(self, s: Settlement) -> None:
        r = self.report
        if s.pk in self.held:  # put back for a later round of this run: not an outcome yet
            self.held.discard(s.pk)
            return
        if s.status is Status.DONE:
            r.applied += 1
        elif s.status is Status.DEAD:
            r.dead += 1
        elif s.status is Status.SUPERSEDED:
            r.superseded += 1
        elif s.counts_as_attempt:
            r.retried += 1
        else:
            r.deferred += 1
        r.outcomes[s.pk] = {"status": s.status.value, "error": s.error, **(s.result or {})}

    # --- phase 1: contacts ----------------------------------------------------------------------

    async def _contacts(self, jobs: list[Job]) -> None:
        creates = [(job, op) for job in jobs for op in job.pending(OpKind.UPSERT)]
        if not self.opts.batched:
            await self._each(creates, self._upsert_one)
            updates = [(job, op) for job in jobs for op in job.pending(OpKind.UPDATE) if job.contact_id]
            await self._each(updates, self._update_one)
            self._save(jobs)
            return
        if creates:
            try:
                with serving(job for job, _ in creates):
                    results = await self.client.upsert_contacts([dict(op.fields) for _, op in creates])
            except MauticError as exc:
                for job, _ in creates:
                    job.fail(exc)
            else:
                for (job, op), res in zip(creates, results, strict=True):
                    if res.ok and res.contact_id:
                        job.contact_id = res.contact_id
                        job.mark_done(op)
                        if res.created:
                            job.skip_blind()
                    else:
                        msg = f"Mautic did not save the contact (status {res.status})."
                        job.fail(res.error or PermanentError(msg))
        # After the creates: an email change of a contact known only by its old address finds it first.
        updates = [(job, op) for job in jobs for op in job.pending(OpKind.UPDATE) if job.contact_id]
        if updates:
            try:
                with serving(job for job, _ in updates):
                    results = await self.client.update_contacts(
                        [{"id": job.contact_id, **op.fields} for job, op in updates]
                    )
            except MauticError as exc:
                for job, _ in updates:
                    job.fail(exc)
            else:
                for (job, op), res in zip(updates, results, strict=True):
                    if res.ok:
                        job.mark_done(op)
                    elif isinstance(res.error, NotFound):  # someone deleted the contact in Mautic
                        job.fail(ContactGone(f"Mautic contact {job.contact_id} no longer exists; re-creating it."))
                    elif _email_taken(res.error, op):
                        await self._email_conflict(job, op)
                    else:
                        job.fail(
                            res.error or PermanentError(f"Mautic did not update the contact (status {res.status}).")
                        )
        self._save(jobs)

    async def _upsert_one(self, job: Job, op: Op) -> None:
        res = await self.client.upsert_contact(dict(op.fields))
        job.contact_id = res.contact_id
        if res.created:
            job.skip_blind()

    async def _update_one(self, job: Job, op: Op) -> None:
        assert job.contact_id is not None
        try:
            await self.client.update_contact(job.contact_id, dict(op.fields))
        except PermanentError as exc:
            if not _email_taken(exc, op):
                raise
            await self._email_conflict(job, op)
            if job.error is not None:
                raise job.error from None

    async def _email_conflict(self, job: Job, op: Op) -> None:
        """Another contact has the new address (Mautic 5 answers 422, never merges): the configured
        outcome, explicit either way — dead with both contact ids, or the change skipped (noted)."""
        new = str(op.fields["email"])
        try:
            other = await self.client.find_contact_by_email(new)
        except MauticError as exc:
            job.fail(exc)
            return
        other_id = responses.as_int(other.get("id")) if other else None
        if self.policy.on_email_conflict == "skip":
            job.notes["email_conflict_with"] = other_id
            job.mark_done(op)
            return
        job.fail(EmailConflict(job.contact_id, other_id))

    # --- phase 2: segment joins -----------------------------------------------------------------

    async def _segment_joins(self, jobs: list[Job]) -> None:
        joins = [(job, op) for job in jobs if job.contact_id for op in job.pending(OpKind.SEGMENT_ADD)]
        if not self.opts.batched:
            await self._each(joins, self._segment_add_one)
            self._save(jobs)
            return
        groups: dict[int, list[tuple[Job, Op]]] = {}
        for job, op in joins:
            try:
                groups.setdefault(self.resolve("segment", op.target or ""), []).append((job, op))
            except MauticError as exc:
                job.fail(exc)

        async def add_group(segment_id: int, members: list[tuple[Job, Op]]) -> None:
            ids = [job.contact_id for job, _ in members if job.contact_id is not None]
            try:
                async with self._sem:
                    with serving(job for job, _ in members):
                        ok = await self.client.add_to_segment_batch(segment_id, ids)
            except MauticError as exc:
                for job, _ in members:
                    job.fail(exc)
                return
            for job, op in members:
                if ok.get(job.contact_id or 0):
                    job.mark_done(op)
                else:
                    job.fail(PermanentError(f"Mautic refused to add contact {job.contact_id} to segment {segment_id}."))

        await asyncio.gather(*(add_group(sid, members) for sid, members in groups.items()))
        self._save(jobs)

    async def _segment_add_one(self, job: Job, op: Op) -> None:
        assert job.contact_id is not None
        await self.client.add_to_segment(self.resolve("segment", op.target or ""), job.contact_id)

    # --- phase 3: what Mautic cannot batch ------------------------------------------------------

    async def _unbatchable(self, jobs: list[Job]) -> None:
        work = [
            (job, op) for job in jobs for kind in UNBATCHABLE for op in job.pending(kind) if job.contact_id or op.lookup
        ]
        entries = [(job, op) for job, op in work if op.kind in AT_MOST_ONCE]
        if entries:
            # Recorded before sending: if we die mid-call, the next attempt checks before re-adding.
            for job, op in entries:
                job.progress.mark_uncertain(op.key)
            self._save({job.claimed.pk: job for job, _ in entries}.values())
        await self._each(work, self._apply_one)
        self._save(jobs)

    async def _apply_one(self, job: Job, op: Op) -> None:
        if op.kind in (OpKind.DELETE, OpKind.ANONYMISE):
            await self._erase_contact(job, op)
            return
        if op.kind not in (OpKind.SEGMENT_REMOVE, OpKind.CAMPAIGN_REMOVE, OpKind.CAMPAIGN_ADD):
            await self._apply_resolved(job, op, 0)  # DNC, points: no configured segment or campaign
            return
        kind = "segment" if op.kind is OpKind.SEGMENT_REMOVE else "campaign"
        target_id = self.resolve(kind, op.target or "")
        try:
            await self._apply_resolved(job, op, target_id)
        except NotFound as exc:  # name the configured object, so the operator knows which key to fix
            named = f"{kind} #{target_id} (configured for {op.target})"
            raise NotFound(exc.message.replace(f"{kind} #{target_id}", named, 1), status=404) from exc

    async def _apply_resolved(self, job: Job, op: Op, target_id: int) -> None:
        assert job.contact_id is not None
        if op.kind is OpKind.DNC_ADD:
            reason, comments = int(op.fields["reason"] or 0), str(op.fields["comments"])
            await self.client.add_dnc(job.contact_id, op.target or "email", reason=reason, comments=comments)
            return
        if op.kind is OpKind.DNC_REMOVE:
            await self.client.remove_dnc(job.contact_id, op.target or "email")
            return
        if op.kind is OpKind.POINTS:
            if op.key in job.verify:  # an earlier attempt may have added them: at most once, never twice
                job.notes["points_uncertain"] = True
                return
            await self._holding_lease(job, "points change")
            await self.client.add_points(job.contact_id, int(op.fields["delta"] or 0))
            return
        if op.kind is OpKind.SEGMENT_REMOVE:
            await self.client.remove_from_segment(target_id, job.contact_id)
            return
        campaign_id = target_id
        if op.kind is OpKind.CAMPAIGN_REMOVE:
            await self.client.remove_from_campaign(campaign_id, job.contact_id)
            return
        if op.key in job.verify and campaign_id in await self.client.contact_campaigns(job.contact_id):
            return  # an earlier attempt's entry did reach Mautic
        await self._holding_lease(job, "campaign entry")
        await self.client.add_to_campaign(campaign_id, job.contact_id)

    async def _holding_lease(self, job: Job, what: str) -> None:
        """Right before a call that must not be repeated: after a stall longer than the lease (a frozen
        VM, SIGSTOP) another worker may own the event and have sent it."""
        if not q.holds_lease(self.conn, job.claimed.pk, owner=self.owner, now=self.now()):
            raise LeaseLost(f"event {job.claimed.pk}: its lease expired before the {what} was sent")

    async def _erase_contact(self, job: Job, op: Op) -> None:
        """Delete or anonymise the user's contact. A contact already gone is the outcome wanted."""
        contact_id = job.contact_id
        if contact_id is None and op.lookup:
            found = await self.client.find_contact_by_email(op.lookup)
            contact_id = responses.as_int(found.get("id")) if found else None
        if contact_id is None:
            job.notes["erasure"] = "not_in_mautic"
            return
        try:
            if op.kind is OpKind.DELETE:
                await self.client.delete_contact(contact_id)
            else:
                await self.client.update_contact(contact_id, dict(op.fields))
        except NotFound:
            job.notes["erasure"] = "not_in_mautic"
            return
        job.notes["erasure"] = "deleted" if op.kind is OpKind.DELETE else "anonymised"

    # --- helpers ------------------------------------------------------------------------------

    async def _each(self, work: Iterable[tuple[Job, Op]], apply: Callable[[Job, Op], Awaitable[None]]) -> None:
        """Run one call per operation, bounded by the semaphore; record each success as it lands."""

        async def one(job: Job, op: Op) -> None:
            if job.error is not None:
                return
            token = current_event.set(job.claimed.pk)
            try:
                async with self._sem:
                    if job.error is not None:  # failed (or lost its lease) while waiting for a slot
                        return
                    await apply(job, op)
            except MauticError as exc:
                job.fail(exc)
            except LeaseLost:
                self._lose({job.claimed.pk}, [job])
            else:
                job.mark_done(op)
            finally:
                current_event.reset(token)

        await asyncio.gather(*(one(job, op) for job, op in work))

    def _save(self, jobs: Iterable[Job]) -> None:
        """Commit the jobs' progress and renew their leases; a job whose lease was taken over stops here."""
        jobs = [job for job in jobs if not job.lost]
        items = []
        for job in jobs:
            if job.contact_id is not None:
                job.progress.contact_id = job.contact_id
            items.append((job.claimed.pk, job.progress))
        until = self.now() + self.opts.lease
        self._lose(q.save_progress(self.conn, items, owner=self.owner, lease_until=until), jobs)
        self.flush_audit()

    def flush_audit(self) -> None:
        if self._audit:
            rows, self._audit = self._audit, []
            mirror.write_audit(self.conn, rows)


UNBATCHABLE = (
    OpKind.SEGMENT_REMOVE, OpKind.CAMPAIGN_REMOVE, OpKind.CAMPAIGN_ADD, OpKind.DNC_ADD, OpKind.DNC_REMOVE,
    OpKind.POINTS, OpKind.DELETE, OpKind.ANONYMISE,
)  # fmt: skip
"""Operations Mautic has no batch endpoint for: one call each, ``concurrency`` at a time."""
AT_MOST_ONCE = (OpKind.CAMPAIGN_ADD, OpKind.POINTS)
"""Not idempotent in Mautic: recorded as in flight before sending, never blindly repeated."""


def _with_followers(c: Claimed, settled: Settlement) -> list[Settlement]:
    """A login's coalesced followers end as it does (their newest time was the one applied)."""
    out = [settled]
    for f in c.followers:
        result = {**(settled.result or {}), "coalesced_into": c.pk}
        out.append(replace(settled, pk=f.pk, progress=f.progress, result=result))
    return out


def _newer(event: Event, state: UserState, row: mirror.MirrorRow | None) -> str | None:
    """What made ``event`` stale, for its outcome."""
    if event.kind in STATE_KINDS:
        return row.last_event_at.isoformat() if row and row.last_event_at else None
    if state.consent_at is not None and event.kind.value.endswith("subscribe"):
        return state.consent_at.isoformat()
    return state.last_login


def _email_taken(error: BaseException | None, op: Op) -> bool:
    """Mautic 5's answer to an address another contact has: 422 "email: This field must be unique." (§5.4)."""
    return (
        isinstance(error, PermanentError)
        and error.status == 422
        and "email" in op.fields
        and "unique" in str(error).lower()
    )
