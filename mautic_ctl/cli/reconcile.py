"""reconcile: report (and with --fix repair) drift between what should be and what Mautic holds."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, DryRunOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)


def reconcile(
    ctx: typer.Context,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="FILE|-",
            help="The product's users as JSONL or CSV (user_id,email,tier,status[,…fields]); "
            "default: the users mautic-ctl knows.",
        ),
    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Record corrections as queue events and apply them.")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Compare each user's contact in Mautic (fields, tier and churned segments, campaign entries) with
    what it should hold; exit 3 on drift, 0 when none. Campaigns are never entered: a missing entry is
    reported only. Rebuilds the local mirror from what it read.

    Example: mautic-ctl reconcile --from users.csv --fix --dry-run
    """
    from mautic_ctl.cli.ingest import read_input
    from mautic_ctl.cli.render import render_reconcile
    from mautic_ctl.services.reconcile import reconcile as run

    raw = read_input(from_) if from_ is not None else None
    rt = app_context(ctx).runtime(config=config, db=db, read_only=dry_run)
    render_reconcile(run(rt, raw, fix=fix, dry_run=dry_run), as_json, fix=fix, dry_run=dry_run)
