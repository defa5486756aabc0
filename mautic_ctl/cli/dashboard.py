"""dashboard: the web pages for the marketing team (queue, dead events, a user's story, deliveries)."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)


def dashboard(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8788).")] = None,
    read_only: Annotated[
        bool | None, typer.Option("--read-only/--actions", help="Hide every action (retry, replay).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Serve the dashboard until Ctrl-C: overview, events, a user's story, webhook deliveries.

    Binds to loopback by default; any other address needs [dashboard] token (or trusted_user_header).

    Example: mautic-ctl dashboard --port 8788   (then open http://127.0.0.1:8788)
    """
    from mautic_ctl.cli.output import info
    from mautic_ctl.services.dashboard import serve_dashboard

    rt = app_context(ctx).runtime(config=config, db=db)
    serve_dashboard(rt, host=host, port=port, read_only=read_only,
                    on_ready=lambda url: info(f"mautic-ctl dashboard on {url} (Ctrl-C to stop)"))  # fmt: skip
