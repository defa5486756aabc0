"""Draining the queue: the cron burst (`queue run`) and the bounded apply-at-once after recording."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

from mautic_ctl.drain import Drain, DrainOptions
from mautic_ctl.errors import MauticCtlError, MauticError, MauticSetupError
from mautic_ctl.services.resolve import resolve_all
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.verdict import DrainReport

APPLY_NOW_SECONDS = 10.0  # how long a recording command helps drain before leaving the rest to cron


def drain_now(rt: Runtime) -> DrainReport:
    """The apply-at-once drain: everything due, bounded in time (a backlog is cron's work).

    A courtesy: an event whose first attempt fails here stays due, for the next `queue run`.
    """
    return run_drain(rt, rt.drain_options(max_seconds=APPLY_NOW_SECONDS, courtesy=True))


@contextlib.contextmanager
def finish_run(rt: Runtime, report: DrainReport, started: float) -> Iterator[None]:
    """Around the rendering of a `queue run`: record when it finished and with which exit code."""
    from mautic_ctl.store.runs import record_run

    code, error = 0, None
    try:
        yield
    except MauticCtlError as exc:
        code, error = exc.exit_code, exc.message
        raise
    finally:
        record_run(rt.conn, started_at=started, finished_at=time.time(), exit_code=code, applied=report.applied,
                   dead=report.dead, error=error)  # fmt: skip


def run_drain(
    rt: Runtime, options: DrainOptions, on_progress: Callable[[DrainReport], None] | None = None
) -> DrainReport:
    """Drain due events. When Mautic cannot even resolve the configured names, nothing is claimed."""
    return asyncio.run(_drain(rt, options, on_progress))


async def _drain(rt: Runtime, options: DrainOptions, on_progress: Callable[[DrainReport], None] | None) -> DrainReport:
    holder: list[Drain] = []
    async with rt.client(on_request=lambda rec: holder[0].record_request(rec)) as client:
        drain = Drain(
            rt.conn, client, rt.settings.policy(), lambda k, n: 0, options, on_progress=on_progress,
            book=rt.settings.book(),
        )  # fmt: skip
        holder.append(drain)
        try:
            drain.resolve = await resolve_all(client, rt.conn, rt.settings, time.time())
        except MauticSetupError as exc:
            drain.report.setup_error = str(exc)  # refused before anything was claimed: all stays due
            drain.flush_audit()
            return drain.report
        except MauticError as exc:
            # Mautic unreachable before anything was claimed: every due event simply stays due.
            drain.report.unreachable = str(exc)
            drain.flush_audit()
            return drain.report
        return await drain.run()
