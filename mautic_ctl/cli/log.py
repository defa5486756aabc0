"""log: query the audit trail of Mautic calls."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("log")(log)


def log(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Option("--user-id", help="Only calls made for this user's events.")] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="Only calls for this event (queue id or event id).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="A duration back (2h, 7d) or an ISO 8601 time.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="404, a class (4xx, 5xx), ok, or error.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N calls, newest first.")] = 100,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Every Mautic call mautic-ctl made: time, event, user, method, path, status, duration.

    Paths never carry query strings, and no bodies or headers are kept.

    Example: mautic-ctl log --user-id u1 --status error --since 1d
    """
    from mautic_ctl.cli.render import render_log
    from mautic_ctl.services.log import audit_trail, build_filter

    wanted = build_filter(user_id=user_id, event=event, since=since, status=status, limit=limit)
    render_log(audit_trail(app_context(ctx).quick(config=config, db=db).db, wanted), as_json)
