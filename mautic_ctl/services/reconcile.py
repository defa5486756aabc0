"""reconcile: drift between what should be (the product, or the users the tool knows) and what Mautic
holds — read in batches, reported per user, and with ``fix`` repaired through the queue.

The product decides who is on which plan; Mautic holds what is really there; the mirror is only a cache
of it, so every reconcile rebuilds it from what it read. Corrections are ordinary queue events (source
``reconcile``: audited, replayable) that never enter or leave a campaign: an entry sends mails, so a
missing entry is reported only.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mautic_ctl import drift, identity
from mautic_ctl.drift import Desired, UserDrift
from mautic_ctl.mautic.live import LiveContact, read_bulk
from mautic_ctl.rules import UserState
from mautic_ctl.services.drain import run_drain
from mautic_ctl.services.dryrun import PlannedEvent, dry_drain
from mautic_ctl.services.resolve import resolve_all
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.store import experiments as exp_store
from mautic_ctl.store import mirror
from mautic_ctl.store import queue as q
from mautic_ctl.verdict import DrainReport


@dataclass(slots=True)
class ReconcileReport:
    users: int = 0
    drift: list[UserDrift] = field(default_factory=list)  # users with differences or missing entries
    calls: int = 0
    seconds: float = 0.0
    corrections: list[Any] = field(default_factory=list)  # the events recorded (or, dry run, planned)
    fixed: dict[str, Any] | None = None  # the drain's outcome after --fix
    drained: DrainReport | None = None
    plan: list[PlannedEvent] = field(default_factory=list)  # --fix --dry-run: what the drain would do

    @property
    def drifted(self) -> int:
        return sum(1 for d in self.drift if d.drifted)


def desired_users(rt: Runtime, export: bytes | None, user_ids: frozenset[str] | None = None) -> list[Desired]:
    """The product's export when given, else every user the mirror knows with a tier and an email
    (only ``user_ids``, when given: the dashboard's one-user check)."""
    s = rt.settings
    if export is not None:
        wanted = drift.parse_export(export, s.vocabulary(), s.lifecycle.cancel_tier)
    else:
        wanted = [
            Desired(uid, row.state.email, row.state.tier, row.state.status or "active")
            for uid, row in mirror.known_users(rt.conn)
            if row.state.email and row.state.tier
        ]
    return wanted if user_ids is None else [w for w in wanted if w.user_id in user_ids]


def reconcile(
    rt: Runtime,
    export: bytes | None = None,
    *,
    fix: bool = False,
    dry_run: bool = False,
    user_ids: frozenset[str] | None = None,
) -> ReconcileReport:
    wanted = desired_users(rt, export, user_ids)
    report = asyncio.run(_reconcile(rt, wanted, fix=fix))
    if report.corrections:
        q.enqueue_many(rt.conn, report.corrections, time.time())  # a dry run: into its private copy
        if dry_run:
            report.plan = dry_drain(rt, rt.drain_options())
        else:
            drained = report.drained = run_drain(rt, rt.drain_options())
            report.fixed = {"applied": drained.applied, "dead": drained.dead, "retried": drained.retried,
                            "deferred": drained.deferred, "api_calls": drained.calls}  # fmt: skip
    return report


async def _reconcile(rt: Runtime, wanted: list[Desired], *, fix: bool) -> ReconcileReport:
    report = ReconcileReport(users=len(wanted))
    start = time.monotonic()
    policy = rt.settings.policy()
    calls = [0]

    def count(_: object) -> None:
        calls[0] += 1

    async with rt.client(on_request=count) as client:
        resolved = await resolve_all(client, rt.conn, rt.settings, time.time())
        seg_keys = {resolved("segment", k): k for k in sorted(policy.segments)}
        camp_keys = {resolved("campaign", k): k for k in sorted(policy.campaigns)}
        f = policy.fields
        aliases = {f.tier, f.status, f.lifetime_value, *(a for w in wanted for a in w.fields)}
        live = await read_bulk(
            client, [w.email for w in wanted], seg_keys, camp_keys,
            concurrency=rt.settings.queue.concurrency, aliases=sorted(aliases),
        )  # fmt: skip
    report.calls = calls[0]

    rows = mirror.load_users(rt.conn, (w.user_id for w in wanted))
    by_contact: dict[int, set[str]] = {}
    for w in wanted:
        found = live.get(w.email.strip().casefold())
        if found:
            by_contact.setdefault(found.contact_id, set()).add(w.user_id)
    owners = mirror.contact_owners(rt.conn, by_contact)

    rebuilt: list[dict[str, Any]] = []
    now = time.time()
    book = rt.settings.book()  # experiments: an arm's campaign (or its holdout) is the slot's entry
    arms = exp_store.load(rt.conn, (w.user_id for w in wanted)) if book else {}
    for w in wanted:
        row = rows.get(w.user_id)
        base = replace(row.state if row else UserState(), email=w.email)
        found = live.get(w.email.strip().casefold())
        state = _state(found, base, seg_keys, camp_keys, policy)
        others = set()
        if found:
            others = (by_contact.get(found.contact_id, set()) | owners.get(found.contact_id, set())) - {w.user_id}
        seen = book.as_entered(state, arms.get(w.user_id, {})) if book else state
        result = drift.compare(
            w, seen if found else None, found.fields if found else {}, policy, shared_with=others,
            mirror_contact_id=row.state.contact_id if row else None,
        )  # fmt: skip
        if result.drifted or result.missing_entries:
            report.drift.append(result)
        # The mirror keeps the product's tier and status; contact id and memberships come from Mautic.
        # A drifted user is not first-hand any more: its next event plans from Mautic's live state.
        cache = replace(state, known=True, tier=w.tier, status=w.status)
        first_hand = bool(row and row.first_hand and not result.drifted)
        rebuilt.append(mirror.user_params(w.user_id, cache, row.last_event_at if row else None, now,
                                          first_hand=first_hand))  # fmt: skip
    mirror.write_users(rt.conn, rebuilt)  # a dry run writes into its private copy of the queue
    if fix:
        at = datetime.now(UTC)
        run_id = at.strftime("%Y%m%dT%H%M%S%f")
        fixable = [d for d in report.drift if any(x.what != "owner" for x in d.differences)]
        by_user = {w.user_id: w for w in wanted}
        events = [drift.correction(by_user[d.user_id], _event_time(rows.get(d.user_id)), run_id) for d in fixable]
        report.corrections = events
    report.seconds = time.monotonic() - start
    return report


def _event_time(row: mirror.MirrorRow | None) -> datetime:
    """A correction must not advance the stale-event guard: it carries the user's last event time."""
    if row is not None and row.last_event_at is not None:
        return row.last_event_at
    return datetime(1970, 1, 1, tzinfo=UTC)


def _state(
    found: LiveContact | None,
    base: UserState,
    seg_keys: dict[int, str],
    camp_keys: dict[int, str],
    policy: Any,
) -> UserState:
    if found is None:
        return identity.live_state(None, {}, (), (), base, policy)
    segments = [seg_keys[s] for s in found.segment_ids if s in seg_keys]
    campaigns = [camp_keys[c] for c in found.campaign_ids if c in camp_keys]
    return identity.live_state(found.contact_id, found.fields, segments, campaigns, base, policy)
