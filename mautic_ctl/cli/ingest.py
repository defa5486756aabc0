"""ingest: record a stream of events — the product's own JSON/JSONL, or Stripe / LemonSqueezy webhooks."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, DryRunOpt, JsonOpt

PROVIDERS = ("stripe", "lemonsqueezy")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[stripe|lemonsqueezy] FILE|-",
            help="What to read: a file, or - for stdin; prefix a provider name for webhook payloads.",
        ),
    ],
    signature: Annotated[
        str | None,
        typer.Option(
            "--signature",
            help="The webhook's signature header value (Stripe-Signature or X-Signature); verified with the configured secret.",
        ),
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Drain the queue after recording.")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Record events from a JSON document, a JSON array or a JSONL stream, one transaction per chunk.

    Product events look like {"type": "plan_change", "user_id": "u1", "to": "pro", "event_id": "..."}.
    Every record is validated first: one bad record and nothing is recorded (exit 2).

    Example: mautic-ctl ingest events.jsonl
    """
    from mautic_ctl.cli.render import render_ingest
    from mautic_ctl.errors import InputError

    provider = args[0] if len(args) == 2 and args[0] in PROVIDERS else None
    if len(args) != (2 if provider else 1):
        raise InputError("give one FILE (or -), optionally after a provider: stripe or lemonsqueezy.")
    raw = read_input(args[-1])
    if dry_run:
        if provider is not None:
            raise InputError("--dry-run applies to product events; a webhook payload is only verified and recorded.")
        from mautic_ctl.cli.render import render_plan
        from mautic_ctl.services.dryrun import dry_ingest

        render_plan(dry_ingest(app_context(ctx).runtime(config=config, db=db, read_only=True), raw), as_json)
        return
    if provider is None and not apply:  # a backend's burst: the fast path, no pydantic, no HTTP stack
        from datetime import UTC, datetime

        from mautic_ctl.services.ingest import ingest_events
        from mautic_ctl.store import connect

        quick = app_context(ctx).quick(config=config, db=db)
        conn = connect(quick.db)
        try:
            done = ingest_events(conn, raw, quick.vocabulary, datetime.now(UTC), quick.check_expressible)
        finally:
            conn.close()
        report = {"recorded": done.recorded, "duplicate": done.duplicates, "queue_ids": done.queue_ids}
        render_ingest(report, None, as_json)
        return
    rt = app_context(ctx).runtime(config=config, db=db)
    from mautic_ctl.services.drain import run_drain
    from mautic_ctl.services.ingest import ingest as ingest_stream

    if apply:
        rt.settings.require_mautic()
    report = ingest_stream(rt, raw, provider=provider, signature=signature)
    # The drain right after recording is a courtesy: a failed first attempt stays due for `queue run`.
    drained = run_drain(rt, rt.drain_options(courtesy=True)) if apply else None
    render_ingest(report, drained, as_json)


def read_input(name: str) -> bytes:
    """FILE or - (stdin), bounded: what `ingest` and `reconcile --from` read."""
    from mautic_ctl.errors import InputError
    from mautic_ctl.events import MAX_INPUT_BYTES

    limit = 64 * MAX_INPUT_BYTES  # a JSONL stream may hold many events; a single one is capped in events.py
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(name).open("rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name} ({exc.strerror}).") from None
    if len(data) > limit:
        raise InputError(f"{name} is larger than {limit} bytes; split it into smaller files.")
    return data
