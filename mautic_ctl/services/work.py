"""`queue work`: the long-running worker of always-on deployments (systemd, Kubernetes), on either store.

It drains as `queue run` does, then waits for new events (LISTEN/NOTIFY on PostgreSQL, a short poll on
SQLite) or for the next scheduled retry / expiring lease, and drains again. SIGTERM (and SIGINT) let the
round in flight finish and settle, then the worker exits 0: nothing is left leased to a dead process.
Any number of workers, on any number of hosts, can share one PostgreSQL store.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mautic_ctl.drain import Drain, DrainOptions
from mautic_ctl.errors import MauticError
from mautic_ctl.services.resolve import resolve_all
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.store import queue as q
from mautic_ctl.store.wait import Waiter
from mautic_ctl.verdict import DrainReport

MAX_IDLE_S = 5.0  # wake at least this often: a `queue retry` on another host sends no notification
MIN_WAIT_S = 0.2  # due events another worker holds back (per-user order): look again soon, not at once
UNREACHABLE_WAIT_S = 5.0


@dataclass(slots=True)
class WorkReport:
    """Totals over the worker's life, for its exit summary."""

    drained: DrainReport = field(default_factory=DrainReport)  # summed over every drain of this worker
    rounds: int = 0  # drains that processed something
    wakeups: int = 0
    wait_mode: str = ""  # "listen" (PostgreSQL NOTIFY) or "poll" (SQLite)
    stopped_by: str | None = None
    unreachable: list[str] = field(default_factory=list)

    def add(self, r: DrainReport) -> None:
        t = self.drained
        t.applied, t.retried, t.deferred = t.applied + r.applied, t.retried + r.retried, t.deferred + r.deferred
        t.dead, t.superseded, t.calls = t.dead + r.dead, t.superseded + r.superseded, t.calls + r.calls


class _Stop:
    def __init__(self, waiter: Waiter) -> None:
        self.waiter = waiter
        self.signal: str | None = None
        self.drain: Drain | None = None

    def request(self, signame: str) -> None:
        self.signal = signame
        if self.drain is not None:
            self.drain.stop_requested = True
        self.waiter.wake()


def work(
    rt: Runtime,
    options: DrainOptions,
    *,
    on_drain: Callable[[DrainReport], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    max_idle: float = MAX_IDLE_S,
) -> WorkReport:
    waiter = Waiter(rt.settings.queue.db)
    try:
        return asyncio.run(_work(rt, options, waiter, on_drain, on_wait, max_idle))
    finally:
        waiter.close()


async def _work(
    rt: Runtime,
    options: DrainOptions,
    waiter: Waiter,
    on_drain: Callable[[DrainReport], None] | None,
    on_wait: Callable[[str], None] | None,
    max_idle: float,
) -> WorkReport:
    loop = asyncio.get_running_loop()
    stop = _Stop(waiter)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.request, sig.name)
    total = WorkReport(wait_mode=waiter.mode)
    start = time.monotonic()
    holder: list[Drain] = []
    try:
        async with rt.client(on_request=lambda rec: holder[-1].record_request(rec)) as client:
            while stop.signal is None:
                drain = Drain(rt.conn, client, rt.settings.policy(), lambda k, n: 0, options)
                holder.append(drain)
                stop.drain = drain
                try:
                    drain.resolve = await resolve_all(client, rt.conn, rt.settings, time.time())
                except MauticError as exc:
                    drain.flush_audit()
                    total.unreachable.append(str(exc))
                    if on_wait:
                        on_wait(f"Mautic is unreachable ({exc}); events stay queued, trying again")
                    await loop.run_in_executor(None, waiter.wait, UNREACHABLE_WAIT_S)
                    continue
                report = await drain.run()
                holder[:] = holder[-1:]
                if report.processed:
                    total.rounds += 1
                    total.add(report)
                    if on_drain:
                        on_drain(report)
                if stop.signal is not None:
                    break
                timeout = _until_next_due(rt, max_idle)
                if await loop.run_in_executor(None, waiter.wait, timeout):
                    total.wakeups += 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        total.drained.seconds = time.monotonic() - start
        total.stopped_by = stop.signal
    return total


def _until_next_due(rt: Runtime, max_idle: float) -> float:
    due = q.next_due_at(rt.conn)
    if due is None:
        return max_idle
    return min(max(due - time.time(), MIN_WAIT_S), max_idle)
