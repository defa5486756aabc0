"""The dashboard's routes: read pages over the store's read models, and actions through the services.

Sync endpoints (Starlette runs them in its thread pool), one SQLite connection per thread. Every POST
checks the CSRF token; with a token configured every request must carry it; read-only hides actions
and refuses every POST. Secrets are never rendered: the Mautic URL and auth *mode* are shown, not values.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mautic_ctl.dashboard import security
from mautic_ctl.dashboard.charts import bar_chart
from mautic_ctl.services import operator
from mautic_ctl.store import connect, mirror, runs, views
from mautic_ctl.store import queue as q
from mautic_ctl.store.billing import list_deliveries

PAGE = 50
CHART_HOURS = 72


@dataclass
class DashboardOptions:
    db: Path
    token: str | None = None
    trusted_user_header: str | None = None
    read_only: bool = False
    mautic_url: str | None = None
    auth_mode: str = "not configured"
    probe: Callable[[], list[dict[str, Any]]] | None = None  # on demand: the `doctor` findings
    compare_user: Callable[[str, bool], dict[str, Any]] | None = None  # reconcile one user (fix: through the queue)
    experiments: Callable[[], str] | None = None  # the experiments report as a self-contained page
    retry_delivery: Callable[[str], list[dict[str, Any]]] | None = None  # `webhook retry ID`


def create_dashboard_app(options: DashboardOptions) -> Starlette:
    pages = _Pages(options)
    routes = [
        Route("/", pages.overview),
        Route("/events", pages.events),
        Route("/events/{pk:int}", pages.event),
        Route("/events/{pk:int}/retry", pages.retry, methods=["POST"]),
        Route("/events/{pk:int}/replay", pages.replay, methods=["POST"]),
        Route("/users/{user_id:path}/mautic", pages.user_live),
        Route("/users/{user_id:path}/fix", pages.user_fix, methods=["POST"]),
        Route("/users/{user_id:path}", pages.user),
        Route("/experiments", pages.experiments),
        Route("/deliveries", pages.deliveries),
        Route("/deliveries/{pk:int}/retry", pages.delivery_retry, methods=["POST"]),
        Route("/mautic", pages.mautic),
        Route("/login", pages.login, methods=["GET", "POST"]),
        Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
    ]
    middleware = [Middleware(_Guard, options=options)]
    return Starlette(routes=routes, middleware=middleware)


class _Guard(BaseHTTPMiddleware):
    """Token / proxy-header check on every request but the login page; CSRF on every POST."""

    def __init__(self, app: Any, options: DashboardOptions) -> None:
        super().__init__(app)
        self.options = options

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        o = self.options
        path = request.url.path.removeprefix(_base(request))
        public = path in ("/login", "/healthz")
        if o.trusted_user_header and not public and not request.headers.get(o.trusted_user_header):
            return _plain(401, f"this dashboard is served behind a proxy that sets {o.trusted_user_header}.")
        if o.token and not public:
            bearer = request.headers.get("authorization", "")
            bearer_token = bearer[7:] if bearer.lower().startswith("bearer ") else None
            if not security.token_ok(o.token, bearer=bearer_token, cookie=request.cookies.get(security.TOKEN_COOKIE)):
                if request.method == "GET":
                    return RedirectResponse(f"{_base(request)}/login", status_code=303)
                return _plain(401, "a valid dashboard token is required.")
        if request.method == "POST" and path != "/login":
            if o.read_only:
                return _plain(403, "this dashboard is read-only.")
            form = await request.form()
            if not security.csrf_ok(request.cookies.get(security.CSRF_COOKIE), form.get("csrf")):  # type: ignore[arg-type]
                return _plain(403, "the form's CSRF token is missing or wrong; reload the page and try again.")
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc != request.url.netloc:
                return _plain(403, "cross-site request refused.")
        response = await call_next(request)
        if security.CSRF_COOKIE not in request.cookies:
            csrf = request.state.csrf if hasattr(request.state, "csrf") else security.new_csrf()
            response.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response


class _Pages:
    def __init__(self, options: DashboardOptions) -> None:
        self.o = options
        self._local = threading.local()
        self.env = Environment(
            loader=PackageLoader("mautic_ctl.dashboard", "templates"), autoescape=select_autoescape(["html"])
        )
        self.env.filters["ts"] = _ts
        self.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, default=str)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.o.db)
        return conn

    def render(self, request: Request, template: str, **values: Any) -> HTMLResponse:
        csrf = request.cookies.get(security.CSRF_COOKIE) or security.new_csrf()
        request.state.csrf = csrf
        html = self.env.get_template(template).render(
            base=request.scope.get("root_path", ""),
            csrf=csrf,
            read_only=self.o.read_only,
            mautic_url=self.o.mautic_url,
            auth_mode=self.o.auth_mode,
            flash=request.query_params.get("done"),
            **values,
        )
        return HTMLResponse(html)

    # --- pages --------------------------------------------------------------------------------

    def overview(self, request: Request) -> Response:
        now = time.time()
        stats = q.stats(self.conn, now)
        hours = views.applied_per_hour(self.conn, since=now - CHART_HOURS * 3600, now=now)
        return self.render(
            request,
            "overview.html",
            stats=stats,
            activity=views.last_activity(self.conn),
            run=runs.last_run(self.conn),
            chart=bar_chart(hours, label=f"events applied per hour, last {CHART_HOURS} h"),
            applied_recently=sum(n for _, n in hours),
            actions=views.recent_actions(self.conn, limit=10),
        )

    def events(self, request: Request) -> Response:
        p = request.query_params
        before = p.get("before")
        flt = views.EventFilter(
            status=p.get("status") or None, kind=p.get("kind") or None, source=p.get("source") or None,
            user_id=p.get("user_id") or None, since=p.get("since") or None, until=p.get("until") or None,
            before_id=int(before) if before and before.isdigit() else None,
        )  # fmt: skip
        found = views.search_events(self.conn, flt, limit=PAGE)
        query = {k: v for k, v in p.items() if k != "before" and v}
        more = None
        if len(found) == PAGE:
            more = f"{_base(request)}/events?" + urlencode({**query, "before": found[-1]["id"]})
        return self.render(request, "events.html", events=found, filters=query, more=more,
                           statuses=[s.value for s in q.Status])  # fmt: skip

    def event(self, request: Request) -> Response:
        pk = request.path_params["pk"]
        event = q.get_event(self.conn, pk)
        if event is None:
            return _plain(404, f"there is no event {pk} in the queue.")
        event["payload"] = json.loads(event["payload"])
        event["progress"] = json.loads(event["progress"])
        event["result"] = json.loads(event["result"]) if event["result"] else None
        return self.render(request, "event.html", e=event, calls=views.calls_of_event(self.conn, pk),
                           can_retry=event["status"] in ("dead", "pending"),
                           can_replay=event["status"] in ("done", "superseded"))  # fmt: skip

    def user(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        story = views.user_story(self.conn, user_id)
        mirror_row = mirror.get_user(self.conn, user_id)
        if not story["events"] and mirror_row is None:
            return _plain(404, f"mautic-ctl knows no user {user_id!r}.")
        return self.render(request, "user.html", user_id=user_id, story=story, mirror=mirror_row)

    def user_live(self, request: Request) -> Response:
        """On demand (it calls Mautic): reconcile for this user — what Mautic holds against what it should."""
        user_id = request.path_params["user_id"]
        if self.o.compare_user is None:
            return _plain(404, "no Mautic connection is configured for this dashboard.")
        story = views.user_story(self.conn, user_id)
        live = self.o.compare_user(user_id, False)
        held = mirror.get_user(self.conn, user_id)
        return self.render(request, "user.html", user_id=user_id, story=story, mirror=held, live=live)

    async def user_fix(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if self.o.compare_user is None:
            return _plain(404, "no Mautic connection is configured for this dashboard.")
        from starlette.concurrency import run_in_threadpool

        got = await run_in_threadpool(self.o.compare_user, user_id, True)
        views.record_action(self.conn, at=time.time(), actor=_actor(request, self.o), action="fix",
                            target=f"user:{user_id}", detail=json.dumps(got.get("fixed")))  # fmt: skip
        return RedirectResponse(f"{_base(request)}/users/{quote(user_id)}/mautic?done=fix", status_code=303)

    def experiments(self, request: Request) -> Response:
        if self.o.experiments is None:
            return _plain(404, "no experiments report is available in this dashboard.")
        return HTMLResponse(self.o.experiments())

    def deliveries(self, request: Request) -> Response:
        outcome = request.query_params.get("outcome") or None
        rows = list_deliveries(self.conn, outcome, PAGE)
        return self.render(request, "deliveries.html", deliveries=rows, outcome=outcome,
                           can_retry=self.o.retry_delivery is not None)  # fmt: skip

    async def delivery_retry(self, request: Request) -> Response:
        """Read a stored delivery again with what is known now (its signature was verified on receipt)."""
        pk = request.path_params["pk"]
        if self.o.retry_delivery is None:
            return _plain(404, "delivery retry is not available in this dashboard.")
        from starlette.concurrency import run_in_threadpool

        got = await run_in_threadpool(self.o.retry_delivery, str(pk))
        outcome = got[0].get("status") if got else None
        views.record_action(self.conn, at=time.time(), actor=_actor(request, self.o), action="retry",
                            target=f"delivery:{pk}", detail=str(outcome))  # fmt: skip
        return RedirectResponse(f"{_base(request)}/deliveries?done=retry", status_code=303)

    def mautic(self, request: Request) -> Response:
        """On demand only (it calls Mautic): reachability, auth mode and one timed call."""
        if self.o.probe is None:
            return self.render(request, "mautic.html", probe=None)
        return self.render(request, "mautic.html", probe=self.o.probe())

    # --- actions ------------------------------------------------------------------------------

    async def retry(self, request: Request) -> Response:
        pk = request.path_params["pk"]
        operator.retry(self.conn, [pk], actor=_actor(request, self.o))
        return RedirectResponse(f"{_base(request)}/events/{pk}?done=retry", status_code=303)

    async def replay(self, request: Request) -> Response:
        pk = request.path_params["pk"]
        event = q.get_event(self.conn, pk)
        if event is None:
            return _plain(404, f"there is no event {pk} in the queue.")
        operator.replay(self.conn, since=event["occurred_at"], user_id=event["user_id"], actor=_actor(request, self.o))
        return RedirectResponse(f"{_base(request)}/events/{pk}?done=replay", status_code=303)

    async def login(self, request: Request) -> Response:
        if request.method == "GET" or not self.o.token:
            return self.render(request, "login.html", failed=False)
        form = await request.form()
        given = str(form.get("token") or "")
        if not security.token_ok(self.o.token, bearer=given, cookie=None):
            return self.render(request, "login.html", failed=True)
        response = RedirectResponse(f"{_base(request)}/", status_code=303)
        response.set_cookie(security.TOKEN_COOKIE, security.session_value(self.o.token), httponly=True,
                            samesite="strict")  # fmt: skip
        return response


def _base(request: Request) -> str:
    """The prefix the dashboard is mounted at ("" standalone, "/dashboard" inside `webhook serve`)."""
    return str(request.scope.get("root_path", ""))


def _actor(request: Request, options: DashboardOptions) -> str:
    who = request.headers.get(options.trusted_user_header) if options.trusted_user_header else None
    client = request.client.host if request.client else "unknown"
    return f"dashboard:{who or client}"


def _plain(status: int, message: str) -> Response:
    return HTMLResponse(f"<!doctype html><title>{status}</title><p>{escape(message)}</p>", status_code=status)


def _ts(value: float | None) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""
