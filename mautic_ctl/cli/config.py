"""verify-config: does every configured segment, campaign and field exist in Mautic?"""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("verify-config")(verify_config)


def verify_config(
    ctx: typer.Context,
    strict: Annotated[bool, typer.Option("--strict", help="A transition without a campaign fails too.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Check through the API that configured segments/campaigns exist and are published, and fields exist.

    Exits 3 on drift or when a tier has no segment, so CI can gate on it; a transition whose campaign is
    not configured (nor switched off with "none") is a warning, an error with --strict.

    Example (CI): mautic-ctl verify-config --json
    """
    from mautic_ctl.cli.render import render_checks
    from mautic_ctl.services.verify import verify_config as verify

    rt = app_context(ctx).runtime(config=config, db=db)
    render_checks(verify(rt), as_json, strict)
