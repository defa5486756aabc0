"""queue run | work | list | stats | show | retry | purge | replay."""

import time
from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, DryRunOpt, JsonOpt

queue_app = typer.Typer(help="Drain, inspect and repair the event queue.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")


@queue_app.command("run")
def run(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Process at most N events.")] = None,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", min=0, help="Stop claiming after S s.")] = None,
    sequential: Annotated[bool, typer.Option("--sequential", help="One call per operation, no batching.")] = False,
    dry_run: DryRunOpt = False,
    now: Annotated[
        bool, typer.Option("--now", help="Ignore backoff schedules (not a rate limit's reset): retry now.")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Apply due events (a burst worker for cron: safe to run twice at once, safe to kill).

    Example (cron, every minute): mautic-ctl queue run --max-seconds 50
    """
    from mautic_ctl.cli.progress import drain_progress
    from mautic_ctl.cli.render import render_drain
    from mautic_ctl.services.drain import finish_run, run_drain
    from mautic_ctl.store import queue as q

    rt = app_context(ctx).runtime(config=config, db=db, read_only=dry_run)
    started = time.time()
    if now and not dry_run:
        q.expedite(rt.conn, started)
    options = rt.drain_options(limit=limit, max_seconds=max_seconds, batched=not sequential)
    if dry_run:
        from mautic_ctl.cli.render import render_plan
        from mautic_ctl.services.dryrun import dry_drain

        render_plan(dry_drain(rt, options), as_json)
        return
    with drain_progress(q.stats(rt.conn, time.time())["due"], enabled=not as_json) as on_progress:
        report = run_drain(rt, options, on_progress)
    stats = q.stats(rt.conn, time.time())
    scheduled = stats["counts"]["pending"] - stats["due"]
    with finish_run(rt, report, started):  # the run's outcome (its exit code) is kept for monitoring
        render_drain(report, stats["due"], scheduled, as_json, q.last_open_error(rt.conn))


@queue_app.command("work")
def work(
    ctx: typer.Context,
    max_idle: Annotated[float, typer.Option("--max-idle", min=0.1, help="Look at the queue at least every S s.")] = 5.0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Run as a long-lived worker: drain, wait for new events, drain again; SIGTERM finishes the round and exits 0.

    Example (a systemd service or a container): mautic-ctl queue work
    """
    from mautic_ctl.cli.output import emit_json, info, warn
    from mautic_ctl.cli.render import drain_payload
    from mautic_ctl.services.work import work as run_worker

    rt = app_context(ctx).runtime(config=config, db=db)

    def on_drain(r) -> None:  # type: ignore[no-untyped-def]
        info(f"applied {r.applied}, retried {r.retried}, deferred {r.deferred}, dead {r.dead}, "
             f"superseded {r.superseded} ({r.calls} API calls, {r.seconds:.2f} s)")  # fmt: skip

    report = run_worker(rt, rt.drain_options(), on_drain=on_drain, on_wait=warn, max_idle=max_idle)
    done = report.drained
    if as_json:
        emit_json(drain_payload(done, 0) | {"rounds": report.rounds, "wakeups": report.wakeups,
                  "wait_mode": report.wait_mode, "stopped_by": report.stopped_by})  # fmt: skip
    else:
        info(f"stopped ({report.stopped_by}) after {report.rounds} round(s): applied {done.applied}, "
             f"retried {done.retried}, dead {done.dead}, {done.calls} API calls")  # fmt: skip


@queue_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="pending|processing|done|dead|superseded")] = None,
    user_id: Annotated[str | None, typer.Option("--user-id")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Recorded events, newest first.

    Example: mautic-ctl queue list --status dead --format csv > dead.csv
    """
    from mautic_ctl.cli.render import render_events
    from mautic_ctl.errors import InputError
    from mautic_ctl.store import queue as q

    try:
        wanted = q.Status(status) if status else None
    except ValueError:
        raise InputError(f"unknown status {status!r}; use one of: {', '.join(s.value for s in q.Status)}.") from None
    rt = app_context(ctx).runtime(config=config, db=db)
    render_events(q.list_events(rt.conn, status=wanted, user_id=user_id, limit=limit), as_json, status)


@queue_app.command("stats")
def stats(
    ctx: typer.Context,
    prometheus: Annotated[
        Path | None,
        typer.Option(
            "--prometheus", help="Also write the figures as a node-exporter textfile (*.prom).", dir_okay=False
        ),
    ] = None,
    fail_if_backlog: Annotated[
        int | None, typer.Option("--fail-if-backlog", min=0, help="Exit 4 when more than N events are open.")
    ] = None,
    fail_if_dead: Annotated[bool, typer.Option("--fail-if-dead", help="Exit 4 when any event is dead.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """How many events are in each state, how many are due now, the oldest due one's age, the last run.

    Example (cron, every minute):
    mautic-ctl queue stats --prometheus /var/lib/node_exporter/textfile/mautic_ctl.prom --fail-if-dead
    """
    from mautic_ctl.cli.render import render_stats
    from mautic_ctl.services.metrics import Alarms, queue_health

    quick = app_context(ctx).quick(config=config, db=db)
    health = queue_health(quick.db, time.time(), prometheus=prometheus)
    render_stats(health, as_json, Alarms(fail_if_backlog, fail_if_dead))


@queue_app.command("show")
def show(
    ctx: typer.Context,
    event: Annotated[int, typer.Argument(help="Queue id (from `queue list`).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """One event: its payload, attempts, progress, and its history (every attempt's error, every Mautic call).

    Example: mautic-ctl queue show 42 --json | jq .errors
    """
    from mautic_ctl.cli.render import render_event_detail
    from mautic_ctl.errors import InputError
    from mautic_ctl.store import queue as q
    from mautic_ctl.store.views import calls_of_event

    rt = app_context(ctx).runtime(config=config, db=db)
    found = q.get_event(rt.conn, event)
    if found is None:
        raise InputError(f"no event with queue id {event}; see `mautic-ctl queue list`.")
    found["calls"] = calls_of_event(rt.conn, event)
    render_event_detail(found, as_json)


@queue_app.command("retry")
def retry(
    ctx: typer.Context,
    events: Annotated[
        list[int] | None, typer.Argument(help="Queue ids of events that are not done (dead, or waiting).")
    ] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Revive every dead event.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Make events due now with fresh attempts: dead ones, and waiting ones (in backoff or deferred by a 429).

    Example: mautic-ctl queue retry --all-dead && mautic-ctl queue run
    """
    from mautic_ctl.cli.render import render_ids
    from mautic_ctl.errors import InputError
    from mautic_ctl.services import operator

    if bool(events) == all_dead:
        raise InputError("give queue ids of events to retry, or --all-dead (not both).")
    rt = app_context(ctx).runtime(config=config, db=db)
    revived = operator.retry(rt.conn, None if all_dead else events)
    render_ids("revived", revived, as_json, wanted=None if all_dead else events)


@queue_app.command("purge")
def purge(
    ctx: typer.Context,
    done_older_than: Annotated[
        str, typer.Option("--done-older-than", help="A duration with its unit: 30d, 12h, 90m, 45s.")
    ],
    include_dead: Annotated[bool, typer.Option("--include-dead", help="Purge old dead events too.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Delete finished events older than a duration (dead ones are kept unless --include-dead).

    Asks before deleting when run on a terminal, unless --yes.

    Example (cron, daily): mautic-ctl queue purge --done-older-than 30d --yes
    """
    import sys

    from mautic_ctl.cli.output import emit_json
    from mautic_ctl.durations import parse_duration
    from mautic_ctl.errors import InputError
    from mautic_ctl.store import queue as q

    if done_older_than.strip().isdigit():
        raise InputError(
            f"--done-older-than needs a unit: {done_older_than}d, {done_older_than}h or {done_older_than}m?"
        )
    seconds = parse_duration(done_older_than)
    rt = app_context(ctx).runtime(config=config, db=db)
    statuses = [q.Status.DONE, q.Status.SUPERSEDED] + ([q.Status.DEAD] if include_dead else [])
    before = time.time() - seconds
    n = q.purge_finished(rt.conn, before=before, statuses=statuses, dry_run=True)
    question = f"Delete {n} finished event(s) older than {done_older_than}?"
    if not dry_run and n and not yes and sys.stdin.isatty() and not typer.confirm(question, err=True):
        raise InputError("purge cancelled; nothing was deleted (--yes skips this question).")
    if not dry_run and n:
        n = q.purge_finished(rt.conn, before=before, statuses=statuses)
    if as_json:
        emit_json({"purged": 0 if dry_run else n, "would_purge": n if dry_run else None, "dry_run": dry_run})
    else:
        print(f"{'would purge' if dry_run else 'purged'} {n} finished event(s).")


@queue_app.command("replay")
def replay(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="ISO 8601 time (or a duration such as 7d): events since then.")],
    user_id: Annotated[str | None, typer.Option("--user-id")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Re-apply recorded events idempotently (Mautic is checked before any campaign entry).

    Example: mautic-ctl queue replay --since 7d --user-id u1
    """
    from datetime import UTC, datetime, timedelta

    from mautic_ctl.cli.render import render_ids
    from mautic_ctl.durations import parse_duration
    from mautic_ctl.errors import InputError
    from mautic_ctl.events import parse_datetime
    from mautic_ctl.services import operator

    try:
        start = datetime.now(UTC) - timedelta(seconds=parse_duration(since))
    except InputError:
        start = parse_datetime(since, "--since")
    rt = app_context(ctx).runtime(config=config, db=db)
    ids = operator.replay(rt.conn, since=start.isoformat(), user_id=user_id)
    render_ids("queued for replay (run `mautic-ctl queue run`)", ids, as_json)
