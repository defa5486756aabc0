"""verify-config: does every configured segment, campaign and field exist in Mautic?"""

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("verify-config")(verify_config)


def verify_config(ctx: typer.Context, as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Check through the API that configured segments/campaigns exist and are published, and fields exist.

    Exits 3 on drift, so CI can gate on it.
    """
    from mautic_ctl.cli.render import render_checks
    from mautic_ctl.services.verify import verify_config as verify

    rt = app_context(ctx).runtime(config=config, db=db)
    render_checks(verify(rt), as_json)
