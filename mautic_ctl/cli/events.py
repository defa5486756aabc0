"""signup, plan-change, sync-contact: record a lifecycle event, then apply it at once."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import (
    ConfigOpt,
    DbOpt,
    DryRunOpt,
    EmailOpt,
    EventIdOpt,
    JsonOpt,
    NoApplyOpt,
    OccurredOpt,
    UserIdOpt,
)


def register(app: typer.Typer) -> None:
    app.command("signup")(signup)
    app.command("plan-change")(plan_change)
    app.command("sync-contact")(sync_contact)


def signup(
    ctx: typer.Context,
    user_id: UserIdOpt,
    email: Annotated[str, typer.Option("--email", help="The user's email address.")],
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Plan tier (default: the first configured tier).")] = None,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """A new user: create the contact, set its fields, add it to New Users and its tier, start Welcome.

    Example: mautic-ctl signup --user-id u1 --email ada@example.com --first-name Ada --tier pro
    """
    record_command(ctx, "signup", as_json, no_apply, config, db, dry_run, user_id=user_id, email=email, first_name=first_name,
            last_name=last_name, tier=tier, event_id=event_id, occurred_at=occurred_at)  # fmt: skip


def plan_change(
    ctx: typer.Context,
    user_id: UserIdOpt,
    to: Annotated[str, typer.Option("--to", help="The new tier, or 'cancelled'.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="The old tier (default: what mautic-ctl last applied).")
    ] = None,
    email: EmailOpt = None,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Upgrade, downgrade, cancellation or reactivation: move segments, enter the right campaign.

    Example: mautic-ctl plan-change --user-id u1 --to enterprise
    """
    record_command(ctx, "plan_change", as_json, no_apply, config, db, dry_run, user_id=user_id, tier=to, from_tier=from_,
            email=email, event_id=event_id, occurred_at=occurred_at)  # fmt: skip


def sync_contact(
    ctx: typer.Context,
    user_id: UserIdOpt,
    email: EmailOpt = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="ALIAS=VALUE of a configured field (repeatable).")
    ] = None,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Update contact fields (typed and formatted as Mautic expects), always with PATCH.

    Example: mautic-ctl sync-contact --user-id u1 --set last_login=2026-11-27T09:00:00Z
    """
    record_command(ctx, "sync_contact", as_json, no_apply, config, db, dry_run, user_id=user_id, email=email, fields=set_ or [],
            event_id=event_id, occurred_at=occurred_at)  # fmt: skip


def record_command(
    ctx: typer.Context, kind: str, as_json: bool, no_apply: bool, config, db, dry_run: bool = False, **values
) -> None:
    """Record through the fast path (no pydantic, no HTTP stack); only a process that ends up
    draining loads the full settings and the client (see intake.apply_now)."""
    from datetime import UTC, datetime

    from mautic_ctl.cli.render import render_record
    from mautic_ctl.events import build_event
    from mautic_ctl.services.record import record
    from mautic_ctl.store import connect

    app = app_context(ctx)
    quick = app.quick(config=config, db=db)
    if not no_apply:
        quick.require_mautic()  # a configuration problem is exit 2 with nothing recorded
    event = build_event(kind, quick.vocabulary, now=datetime.now(UTC), **values)
    quick.check_expressible(event)
    if dry_run:
        from mautic_ctl.cli.render import render_plan
        from mautic_ctl.services.dryrun import dry_record

        render_plan(dry_record(app.runtime(config=config, db=db, read_only=True), event), as_json)
        return
    conn = connect(quick.db)

    reports: list = []

    def drain() -> None:
        from mautic_ctl.services.drain import drain_now

        reports.append(drain_now(app.runtime(config=config, db=db)))

    try:
        result = record(conn, quick.db, event, drain=None if no_apply else drain)
    finally:
        conn.close()
    render_record(result, as_json, setup_error=reports[-1].setup_error if reports else None)
