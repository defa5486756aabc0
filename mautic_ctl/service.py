"""Service functions: one per CLI command, wiring settings, store, client and drain together.

Each returns a plain result object the CLI renders as a table or JSON; none prints anything.
``transport`` lets tests and `mautic-ctl demo` run against an in-process emulator.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from mautic_ctl.auth import make_auth
from mautic_ctl.client import MauticClient, RequestRecord
from mautic_ctl.drain import Drain, DrainOptions, DrainReport
from mautic_ctl.errors import InputError, MauticError
from mautic_ctl.events import Event
from mautic_ctl.intake import RecordResult, apply_now, as_result, record_event, result_of
from mautic_ctl.resolve import resolve_all
from mautic_ctl.retry import RetryPolicy
from mautic_ctl.settings import Settings
from mautic_ctl.store import connect


@dataclass
class Runtime:
    """What every service function needs; built once per command by the CLI."""

    settings: Settings
    transport: httpx.AsyncBaseTransport | None = None
    trace: Callable[[RequestRecord], None] | None = None  # -v: each Mautic call, as it happens
    _conn: sqlite3.Connection | None = field(default=None, repr=False)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.settings.queue.db)
        return self._conn

    def client(self, on_request: Callable[[RequestRecord], None] | None = None) -> MauticClient:
        m = self.settings.require_mautic()
        assert m.base_url is not None
        auth = make_auth(
            m.base_url,
            username=m.username,
            password=m.password,
            client_id=m.client_id,
            client_secret=m.client_secret,
        )
        return MauticClient(
            m.base_url,
            auth=auth,
            timeout=m.timeout,
            verify=m.verify_tls,
            max_connections=m.max_connections,
            retry_attempts=m.http_retries,
            batch_limit=m.batch_limit,
            transport=self.transport,
            on_request=self._traced(on_request),
        )

    def _traced(self, on_request: Callable[[RequestRecord], None] | None) -> Callable[[RequestRecord], None] | None:
        if self.trace is None:
            return on_request
        trace = self.trace

        def both(rec: RequestRecord) -> None:
            trace(rec)
            if on_request is not None:
                on_request(rec)

        return both

    def drain_options(self, **overrides: Any) -> DrainOptions:
        qs = self.settings.queue
        base = DrainOptions(
            batch_size=qs.batch_size,
            concurrency=min(qs.concurrency, self.settings.mautic.max_connections),
            lease=qs.lease,
            retry=RetryPolicy(qs.max_attempts, qs.backoff_base, qs.backoff_max),
        )
        return DrainOptions(**{**asdict(base), "retry": base.retry, **overrides})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


APPLY_NOW_SECONDS = 10.0  # how long a recording command helps drain before leaving the rest to cron


def now() -> datetime:
    return datetime.now(UTC)


# --- recording and applying ---------------------------------------------------------------------


def record(rt: Runtime, event: Event, *, apply: bool = True) -> RecordResult:
    """Record the event (first, always), then apply it at once unless ``apply`` is False."""
    if apply:
        rt.settings.require_mautic()  # a config problem is exit 2 with nothing recorded
    got = record_event(rt.conn, event)
    if got.duplicate or not apply:
        return as_result(event, got)
    apply_now(rt.conn, rt.settings.queue.db, got.pk, lambda: drain_now(rt))
    return result_of(rt.conn, event, got.pk)


def drain_now(rt: Runtime) -> DrainReport:
    """The apply-at-once drain: everything due, bounded in time (a backlog is cron's work)."""
    return run_drain(rt, rt.drain_options(max_seconds=APPLY_NOW_SECONDS))


def run_drain(
    rt: Runtime, options: DrainOptions, on_progress: Callable[[DrainReport], None] | None = None
) -> DrainReport:
    """Drain due events. When Mautic cannot even resolve the configured names, nothing is claimed."""
    return asyncio.run(_drain(rt, options, on_progress))


async def _drain(rt: Runtime, options: DrainOptions, on_progress: Callable[[DrainReport], None] | None) -> DrainReport:
    holder: list[Drain] = []
    async with rt.client(on_request=lambda rec: holder[0].record_request(rec)) as client:
        drain = Drain(rt.conn, client, rt.settings.policy(), lambda k, n: 0, options, on_progress=on_progress)
        holder.append(drain)
        try:
            drain.resolve = await resolve_all(client, rt.conn, rt.settings, time.time())
        except MauticError as exc:
            # Mautic unreachable before anything was claimed: every due event simply stays due.
            drain.report.unreachable = str(exc)
            drain.flush_audit()
            return drain.report
        return await drain.run()


# --- ingest -------------------------------------------------------------------------------------


def ingest(rt: Runtime, raw: bytes, *, provider: str | None = None, signature: str | None = None) -> dict[str, Any]:
    """Record product events (JSON/JSONL) or webhook payloads; returns counts by outcome."""
    from mautic_ctl.ingest import ingest_events

    if provider is None:
        if signature is not None:
            raise InputError("--signature only applies to stripe or lemonsqueezy payloads.")
        report = ingest_events(rt.conn, raw, rt.settings.vocabulary(), now())
        return {"recorded": report.recorded, "duplicate": report.duplicates, "queue_ids": report.queue_ids}
    from mautic_ctl.billing import ingest_webhooks

    return ingest_webhooks(rt, provider, raw, signature)


# --- verify-config ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    kind: str  # segment | campaign | field
    key: str  # the config key (e.g. "pro", "onboarding:pro", "lifetime_value")
    ref: str  # what the config says
    mautic_id: int | None
    ok: bool
    detail: str


def verify_config(rt: Runtime) -> list[Check]:
    return asyncio.run(_verify(rt))


async def _verify(rt: Runtime) -> list[Check]:
    from mautic_ctl.resolve import as_id, configured_refs, match_name

    checks: list[Check] = []
    async with rt.client() as client:
        lists = {"segment": await client.list_segments(), "campaign": await client.list_campaigns()}
        for kind, refs in configured_refs(rt.settings).items():
            by_id = {int(e["id"]): e for e in lists[kind]}
            for key, ref in sorted(refs.items()):
                mautic_id = as_id(ref)
                if mautic_id is None:
                    mautic_id = match_name(lists[kind], str(ref))
                entity = by_id.get(mautic_id) if mautic_id is not None else None
                if entity is None and mautic_id is not None:
                    try:
                        getter = client.get_segment if kind == "segment" else client.get_campaign
                        entity = await getter(mautic_id)
                    except MauticError:
                        entity = None
                if entity is None:
                    checks.append(Check(kind, key, str(ref), mautic_id, False, "missing in Mautic"))
                elif not entity.get("isPublished", True):
                    checks.append(Check(kind, key, str(ref), mautic_id, False, "exists but is unpublished"))
                else:
                    checks.append(Check(kind, key, str(ref), mautic_id, True, str(entity.get("name", ""))))
        fields = {f.get("alias"): f for f in await client.list_fields()}
        wanted = {"email": "email", "firstname": "text", "lastname": "text"}
        wanted |= {alias: spec.type.value for alias, spec in rt.settings.field_specs().items()}
        for alias, ftype in wanted.items():
            found = fields.get(alias)
            if found is None:
                checks.append(Check("field", alias, ftype, None, False, "missing (Mautic would ignore writes)"))
            elif not found.get("isPublished", True):
                checks.append(Check("field", alias, ftype, found.get("id"), False, "unpublished (writes ignored)"))
            elif found.get("type") != ftype and not (ftype == "text" and found.get("type") in ("text", "select")):
                checks.append(
                    Check(
                        "field", alias, ftype, found.get("id"), False, f"type is {found.get('type')}, expected {ftype}"
                    )
                )
            else:
                checks.append(Check("field", alias, ftype, found.get("id"), True, str(found.get("label", ""))))
    return checks
