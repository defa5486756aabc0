"""report: did the campaigns work? Entries joined to what users did next, holdouts beside them."""

from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt

METRIC_CHOICES = "upgraded|downgraded|churned|reactivated|paid"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Only entries on or after this date (ISO 8601).")] = None,
    by: Annotated[
        str, typer.Option("--by", help="Rows per campaign|arm|tier (tier: arm and tier at entry).")
    ] = "campaign",
    window: Annotated[
        str, typer.Option("--window", help="How long after entry outcomes count, e.g. 30d, 12w.")
    ] = "30d",
    metric: Annotated[
        str, typer.Option("--metric", help=f"Outcome compared with the holdout: {METRIC_CHOICES}.")
    ] = "upgraded",
    fmt: Annotated[str, typer.Option("--format", help="table|csv (--json for JSON).")] = "table",
    mautic: Annotated[
        bool, typer.Option("--mautic", help="Add Mautic's own numbers for the campaigns' emails (sent, read, clicked).")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Also write a self-contained HTML page (table and one chart per experiment).", dir_okay=False
        ),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Per campaign (or arm): users entered and, within the window after entry, how many upgraded,
    downgraded, churned, reactivated or paid — each beside the holdout, with a 95% interval for the difference.

    Example: mautic-ctl report --since 2026-10-01 --by arm --window 30d
    """
    from datetime import UTC, datetime, timedelta

    from mautic_ctl.cli.report_view import render_report
    from mautic_ctl.durations import parse_duration
    from mautic_ctl.errors import InputError
    from mautic_ctl.events import parse_datetime
    from mautic_ctl.report import METRICS, By
    from mautic_ctl.services.report import ReportOptions, lifecycle_report

    try:
        grouping = By(by)
    except ValueError:
        raise InputError(f"--by {by!r} is not one of: campaign, arm, tier.") from None
    if metric not in METRICS:
        raise InputError(f"--metric {metric!r} is not one of: {', '.join(METRICS)}.")
    if fmt not in ("table", "csv"):
        raise InputError(f"--format {fmt!r} is not one of: table, csv (or use --json).")
    options = ReportOptions(
        by=grouping,
        window=timedelta(seconds=parse_duration(window)),
        since=parse_datetime(since, "--since") if since else None,
        metric=metric,
        mautic=mautic,
    )
    rt = app_context(ctx).runtime(config=config, db=db)
    result = lifecycle_report(rt, options, datetime.now(UTC))
    render_report(result, "json" if as_json else fmt, html)
