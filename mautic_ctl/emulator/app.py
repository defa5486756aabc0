"""The ASGI app: one catch-all route that runs faults, auth, the rate limiter, the route handler and
the cost profile, in the order a real Mautic behind a flaky network would.

`create_app(config)` returns a Starlette app whose `app.state.emulator` is the `Emulator` (state,
live fault settings, counters, console hooks) that tests and the control endpoints drive.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import control, crons, routes
from .auth import AuthFailure, AuthService, auth_kind
from .config import EmulatorConfig, FaultConfig
from .context import Ctx
from .counters import RequestCounters
from .errors import GENERIC_500, ApiError, ServerError, route_not_found, system_error
from .faults import FaultInjector, Plan, request_cost
from .php import parse_str
from .ratelimit import RateLimiter, Verdict
from .seed import populate
from .state import MauticState

log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ConnectionRegistry:
    """Open server-side transports by client address, so a fault can really drop a connection."""

    def __init__(self) -> None:
        self.transports: dict[tuple[str, int], asyncio.Transport] = {}
        self.served = False  # True once a real socket connection was seen (not in-process ASGI)

    def abort(self, client: Any) -> bool:
        transport = self.transports.get(tuple(client)) if client else None
        if transport is None:
            return False
        transport.abort()
        return True


class Emulator:
    """One emulated Mautic instance: its state, auth, live faults, rate limiter and counters."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.state = MauticState()
        populate(self.state, seed=self.config.seed)
        self.auth = AuthService(self.config)
        self.injector = FaultInjector(replace(self.config.faults))
        self.limiter = RateLimiter()
        self.counters = RequestCounters()
        self.connections = ConnectionRegistry()
        self.stopping = False
        """Set by the server on shutdown so hanging fault requests end at once."""

    @property
    def faults(self) -> FaultConfig:
        """The live fault settings; mutate them, or assign a new FaultConfig."""
        return self.injector.config

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self.injector.replace(value)

    def reset(self, *, seed: bool | None = None) -> None:
        """Back to a fresh instance (tokens stay valid, counters and rate-limit windows restart)."""
        with self.state.lock:
            self.state.clear()
            populate(self.state, seed=self.config.seed if seed is None else seed)
        self.limiter.clear()
        self.counters.reset()

    def issue_token(self, lifetime: float | None = None) -> str:
        """An access token for the first OAuth2 client, as if it had called /oauth/v2/token."""
        return self.auth.issue(next(iter(self.config.clients)), lifetime)

    def console(self, command: str) -> int:
        """Run `php bin/console mautic:...` (segments:update, campaigns:update, campaigns:trigger)."""
        with self.state.lock:
            return crons.run_console(self.state, command)

    # ---- request pipeline ----------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Serve one HTTP request (the Starlette endpoint)."""
        path = request.url.path
        if path.startswith("/_emulator"):
            return await control.handle(self, request)
        query = parse_str(parse_qsl(request.url.query, keep_blank_values=True))
        method = request.method
        auth = auth_kind(request.headers, query)
        self.counters.record(method, routes.template_of(path) or path, auth)
        plan = self.injector.plan() if self.injector.applies_to(path) else Plan()
        if plan.delay:
            await asyncio.sleep(plan.delay)
        early = await self._early_fault(request, plan)
        if early is not None:
            if plan.action in ("down", "fail"):
                self.counters.record_status(early.status_code)
            return early
        body = await _read_body(request)
        response = await self._serve(request, method, path, query, body)
        if plan.action == "lost":
            await self._hang(request)
            await self._drop(request)
        self.counters.record_status(response.status_code)
        return response

    async def _early_fault(self, request: Request, plan: Plan) -> Response | None:
        if plan.action == "down":
            return _failure(503)
        if plan.action == "fail":
            return _failure(plan.status)
        if plan.action == "drop":
            await self._drop(request)
            return _failure(503)
        if plan.action == "hang":
            await self._hang(request)
            await self._drop(request)
            return _failure(504)
        return None

    async def _hang(self, request: Request) -> None:
        """Sit on the request for hang_seconds, or until the client gives up or the server stops."""
        deadline = time.monotonic() + self.faults.hang_seconds
        while time.monotonic() < deadline and not self.stopping:
            if await request.is_disconnected():
                return
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    async def _drop(self, request: Request) -> None:
        """Close the TCP connection without an answer; in-process, raise what httpx would."""
        if not self.connections.abort(request.scope.get("client")):
            if self.connections.served:
                return  # over TCP and the client already hung up: nothing left to drop
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        for _ in range(3):
            await asyncio.sleep(0)

    async def _serve(self, request: Request, method: str, path: str, query: dict[str, Any], body: Any) -> Response:
        if path.rstrip("/") == "/oauth/v2/token" and method in ("GET", "POST"):
            params = dict(query)
            if isinstance(body, dict):
                params.update(body)
            await self.injector.charge(request_cost("token", None))
            return self.auth.token_response(request.headers, params)
        if not path.startswith("/api"):
            return route_not_found(path)
        try:
            caller = self.auth.authenticate(request.headers, query, body)
        except AuthFailure as failure:
            await self.injector.charge(request_cost(failure.cost, None))
            return failure.response
        verdict = self._rate_limit(caller.bucket)
        if verdict is not None and not verdict.allowed:
            return verdict.refusal()
        found = routes.match(method, path)
        if found is None:
            response = route_not_found(path)
            cost = request_cost(caller.kind, None)
        else:
            route, args = found
            ctx = Ctx(self.state, caller.actor, method, path, query, body, args, self.config.batch_max)
            response = self._run(route.handler, ctx)
            cost = request_cost(caller.kind, route.template, ctx.items, ctx.new_items)
        await self.injector.charge(cost)
        if verdict is not None:
            response.headers.update(verdict.headers())
        return response

    def _run(self, handler: routes.Handler, ctx: Ctx) -> Response:
        with self.state.lock:
            try:
                return handler(ctx)
            except ApiError as exc:
                return exc.response()
            except ServerError as exc:
                return exc.response()
            except Exception:
                log.exception("emulator handler failed for %s %s", ctx.method, ctx.path)
                return system_error(500, GENERIC_500, None)

    def _rate_limit(self, bucket: str) -> Verdict | None:
        cfg = self.faults
        if cfg.rate_limit <= 0:
            return None
        return self.limiter.hit(bucket, cfg.rate_limit, cfg.rate_limit_period, time.time())


def _failure(status: int) -> Response:
    if status == 500:
        return system_error(500, GENERIC_500, None)
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    html = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    return Response(html, status_code=status, media_type="text/html")


async def _read_body(request: Request) -> Any:
    """Request parameters the way FOSRest's body listener and PHP would see them."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {}
    if ctype == "application/x-www-form-urlencoded":
        return parse_str(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
    return {}


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """Build the emulator app; the running instance is `app.state.emulator`."""
    emulator = Emulator(config)
    app = Starlette(routes=[Route("/{path:path}", emulator.handle, methods=METHODS)])
    app.state.emulator = emulator
    return app
