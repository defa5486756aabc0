"""--dry-run: what a drain would do, computed by the drain's own planning on a private copy of the queue.

The queue file is copied into memory (``store.connect_read_only``), so recording, claiming and settling
happen on the copy only; the Mautic client refuses anything but GET. The result is, per event, the
state change and the calls a real run would make (method, path, body summary).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from mautic_ctl.drain import Drain, DrainOptions
from mautic_ctl.events import Event
from mautic_ctl.rules import Op, OpKind, UserState
from mautic_ctl.services.resolve import resolve_all
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.store import mirror
from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Settlement, Status

NEW = "{new}"  # the id of a contact the run would create


@dataclass(frozen=True, slots=True)
class PlannedCall:
    method: str
    path: str
    body: str


@dataclass(slots=True)
class PlannedEvent:
    queue_id: int
    user_id: str
    event_id: str
    transition: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    calls: list[PlannedCall] = field(default_factory=list)
    outcome: str = "would apply"  # or: dead / superseded / would retry, with ``error``
    error: str | None = None


def _summary(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))


def op_call(op: Op, contact_id: int | None, resolve: Callable[[str, str], int]) -> PlannedCall:
    """The request a drain sends for one operation (batched calls shown for this contact alone)."""
    cid = str(contact_id) if contact_id is not None else NEW
    if op.kind is OpKind.UPSERT:
        return PlannedCall("POST", "/api/contacts/batch/new", _summary(dict(op.fields)))
    if op.kind is OpKind.UPDATE:
        return PlannedCall("PATCH", "/api/contacts/batch/edit", _summary({"id": cid, **op.fields}))
    kind = "segment" if op.kind in (OpKind.SEGMENT_ADD, OpKind.SEGMENT_REMOVE) else "campaign"
    target = resolve(kind, op.target or "")
    if op.kind is OpKind.SEGMENT_ADD:
        return PlannedCall("POST", f"/api/segments/{target}/contacts/add", f"ids=[{cid}] ({op.target})")
    verb = "add" if op.kind is OpKind.CAMPAIGN_ADD else "remove"
    return PlannedCall("POST", f"/api/{kind}s/{target}/contact/{cid}/{verb}", f"({op.target})")


def state_dict(state: UserState) -> dict[str, Any]:
    return {
        "contact_id": state.contact_id, "tier": state.tier, "status": state.status,
        "segments": sorted(state.segments), "campaigns": sorted(state.campaigns),
    }  # fmt: skip


def dry_drain(rt: Runtime, options: DrainOptions) -> list[PlannedEvent]:
    """Plan every due event (``options.user_id``: only that user's) as ``queue run`` would, round by
    round, each round planned from the state the previous one would leave."""
    assert rt.read_only, "a dry run needs the read-only runtime (a private copy of the queue)"
    return asyncio.run(_dry(rt, options))


async def _dry(rt: Runtime, options: DrainOptions) -> list[PlannedEvent]:
    planned: list[PlannedEvent] = []
    async with rt.client() as client:
        drain = Drain(rt.conn, client, rt.settings.policy(), lambda k, n: 0, options)
        drain.resolve = await resolve_all(client, rt.conn, rt.settings, time.time())
        while True:
            claimed = q.claim(rt.conn, limit=options.batch_size, lease_s=options.lease, now=time.time(),
                              owner=drain.owner, user_id=options.user_id)  # fmt: skip
            if not claimed:
                return planned
            jobs, settlements, users = await drain.prepare(claimed)
            now = time.time()
            done, updates = [], []
            for job in jobs:
                c = job.claimed
                before = job.before
                after = replace(job.plan.after, contact_id=job.contact_id)
                item = PlannedEvent(c.pk, c.event.user_id, c.event.event_id, job.plan.transition.value,
                                    state_dict(before), state_dict(after))  # fmt: skip
                if job.error is not None:
                    item.outcome, item.error = "would retry", str(job.error)
                else:
                    skip = set(c.progress.done)
                    item.calls = [
                        op_call(op, job.contact_id, drain.resolve) for op in job.plan.ops if op.key not in skip
                    ]
                    updates.append(mirror.user_params(c.event.user_id, after, c.event.occurred_at, now))
                planned.append(item)
                done.append(Settlement(c.pk, Status.DONE, c.progress))
            by_pk = {c.pk: c for c in claimed}
            for s in settlements:
                if s.pk in drain.held:  # put back for the next round (one event per email): planned there
                    continue
                c = by_pk[s.pk]
                row = users.get(c.event.user_id)
                state = state_dict(row.state if row else UserState())
                planned.append(PlannedEvent(c.pk, c.event.user_id, c.event.event_id, None, state, state,
                                            outcome=s.status.value, error=s.error))  # fmt: skip
            # Settle on the private copy only, so the next round plans from what this one would leave.
            q.settle(rt.conn, [*done, *settlements], now, mirror_updates=updates, owner=drain.owner)


def call_rows(planned: Iterable[PlannedEvent]) -> list[tuple[Any, ...]]:
    """One table row per call (or per event that would make none)."""
    rows: list[tuple[Any, ...]] = []
    for p in planned:
        if not p.calls:
            rows.append((p.user_id, p.transition or p.outcome, "", "(no call)" if not p.error else p.error, ""))
        for call in p.calls:
            rows.append((p.user_id, p.transition, call.method, call.path, call.body))
    return rows


def dry_record(rt: Runtime, event: Event) -> list[PlannedEvent]:
    """`signup`/`plan-change`/`sync-contact --dry-run`: the event recorded into the private copy, then
    planned as the apply-at-once drain would (this user's due events)."""
    from mautic_ctl.services.record import record_many

    record_many(rt.conn, [event])
    return dry_drain(rt, rt.drain_options(user_id=event.user_id))


def dry_ingest(rt: Runtime, raw: bytes) -> list[PlannedEvent]:
    """`ingest --dry-run` (product events): validated and recorded into the private copy, then every
    due event planned as `queue run` would."""
    from datetime import UTC, datetime

    from mautic_ctl.services.ingest import expressible, ingest_events

    ingest_events(rt.conn, raw, rt.settings.vocabulary(), datetime.now(UTC), expressible(rt))
    return dry_drain(rt, rt.drain_options())
