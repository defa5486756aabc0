"""`mautic-ctl dashboard`: the web pages for the marketing team, wired to the settings and the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mautic_ctl.errors import ConfigError, MauticError
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.services.serve import listen


def auth_mode(rt: Runtime) -> str:
    from mautic_ctl.services.doctor import BASIC_SERVER_SECONDS

    m = rt.settings.mautic
    if m.oauth2:
        return "OAuth2 (client credentials)"
    if m.basic:
        return f"HTTP Basic — slow: ~{BASIC_SERVER_SECONDS} s of Mautic CPU per call; use OAuth2"
    return "not configured"


def probe(rt: Runtime) -> list[dict[str, Any]]:
    """The `doctor` summary (it calls Mautic: on demand only), secrets shown as set / not set."""
    from dataclasses import asdict

    from mautic_ctl.services.doctor import doctor

    return [asdict(f) for f in doctor(rt, rt.settings.config_file, rt.settings.profile)]


def compare_user(rt: Runtime, user_id: str, *, fix: bool) -> dict[str, Any]:
    """`reconcile` for one user: what Mautic holds against what it should; ``fix`` records the
    corrections as queue events (source ``reconcile``) and drains them — campaigns are never entered."""
    from dataclasses import asdict

    from mautic_ctl.services.reconcile import reconcile

    try:
        rt.settings.require_mautic()
        report = reconcile(rt, fix=fix, user_ids=frozenset({user_id}))
    except (MauticError, ConfigError) as exc:
        return {"error": exc.message}
    found = [asdict(d) for d in report.drift if d.user_id == user_id]
    return {"checked": report.users, "drift": found[0] if found else None, "fixed": report.fixed}


def experiments_page(rt: Runtime) -> str:
    """The experiments report (arms beside their holdout, 95% intervals) as one self-contained page."""
    from datetime import UTC, datetime

    from mautic_ctl.cli.report_html import render_page
    from mautic_ctl.report import By, as_dict
    from mautic_ctl.services.report import ReportOptions, lifecycle_report

    return render_page(as_dict(lifecycle_report(rt, ReportOptions(by=By.ARM), datetime.now(UTC))))


def dashboard_app(rt: Runtime, *, read_only: bool | None = None) -> Any:
    from mautic_ctl.dashboard.app import DashboardOptions, create_dashboard_app
    from mautic_ctl.services.billing import retry_deliveries

    d = rt.settings.dashboard

    def fresh() -> Runtime:  # each request thread its own store connection
        return Runtime(rt.settings, rt.transport)

    return create_dashboard_app(
        DashboardOptions(
            db=rt.settings.queue.db,
            token=d.token.get_secret_value() if d.token else None,
            trusted_user_header=d.trusted_user_header,
            read_only=d.read_only if read_only is None else read_only,
            mautic_url=rt.settings.mautic.base_url,
            auth_mode=auth_mode(rt),
            probe=lambda: probe(fresh()),
            compare_user=lambda user_id, fix: compare_user(fresh(), user_id, fix=fix),
            experiments=lambda: experiments_page(fresh()),
            retry_delivery=lambda ref: retry_deliveries(fresh(), [ref], all_dead=False),
        )
    )


def check_exposure(rt: Runtime, host: str) -> None:
    """Refuse to expose pages that can change Mautic on a non-loopback address without a token."""
    from mautic_ctl.dashboard.security import bind_problem

    d = rt.settings.dashboard
    problem = bind_problem(
        host, token=d.token.get_secret_value() if d.token else None, trusted_user_header=d.trusted_user_header
    )
    if problem:
        raise ConfigError(problem)


def serve_dashboard(
    rt: Runtime, *, host: str | None, port: int | None, read_only: bool | None, on_ready: Callable[[str], None]
) -> None:
    import uvicorn

    host = host or rt.settings.dashboard.host
    port = port or rt.settings.dashboard.port
    check_exposure(rt, host)
    sock = listen(host, port)
    app = dashboard_app(rt, read_only=read_only)
    on_ready(f"http://{host}:{port}")
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
