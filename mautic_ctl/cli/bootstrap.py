"""bootstrap: create the segments, fields (and campaign shells) the configuration names."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap)


def bootstrap(
    ctx: typer.Context,
    apply: Annotated[
        bool, typer.Option("--apply", help="Create what is missing (default: only print the plan).")
    ] = False,
    campaigns: Annotated[
        bool, typer.Option("--campaigns", help="Also create missing campaigns, unpublished, as shells to fill.")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Compare the configuration with Mautic; with --apply, create what is missing and print the ids
    as a config snippet to paste. Idempotent; never changes anything that exists.

    Example: mautic-ctl bootstrap --apply >> ~/.config/mautic-ctl/config.toml
    """
    from mautic_ctl.cli.render import render_bootstrap
    from mautic_ctl.services.bootstrap import bootstrap as run_bootstrap

    rt = app_context(ctx).runtime(config=config, db=db)
    render_bootstrap(run_bootstrap(rt, apply=apply, with_campaigns=campaigns), as_json)
