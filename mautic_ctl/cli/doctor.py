"""doctor: what is in effect and whether it works — config, queue, Mautic, auth, verify-config."""

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(ctx: typer.Context, as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Check the whole set-up: config sources, queue file, Mautic, auth and its cost, verify-config.

    Exit 0 when healthy, 4 when a check failed (each failure says what to fix).

    Example: mautic-ctl doctor --json | jq '.checks[] | select(.ok == false)'
    """
    from mautic_ctl.cli.render import render_doctor
    from mautic_ctl.config import config_path
    from mautic_ctl.services.doctor import doctor as run_doctor

    app = app_context(ctx)
    rt = app.runtime(config=config, db=db)
    render_doctor(run_doctor(rt, config_path(config or app.config), app.profile), as_json)
