"""`webhook serve`: the receiver app wired to the SQLite recorder, and an optional background drain."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Callable
from typing import Any

from mautic_ctl.errors import Unavailable
from mautic_ctl.services.billing import SqliteRecorder, make_recorder, provider_configs
from mautic_ctl.services.drain import run_drain
from mautic_ctl.services.runtime import Runtime


class BackgroundDrain:
    """Wakes on each recorded event and drains the queue in its own thread (coalescing bursts)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="mautic-ctl-drain", daemon=True)
        self._thread.start()

    def notify(self, _outcome: Any = None) -> None:
        self._wake.set()

    def _loop(self) -> None:
        rt = Runtime(self.rt.settings, self.rt.transport)  # its own SQLite connection, in this thread
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                break
            # A failed drain loses nothing (the queue keeps the events) and `queue run` reports it.
            with contextlib.suppress(Exception):
                run_drain(rt, rt.drain_options())
        rt.close()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)


def build_app(
    rt: Runtime, *, apply: bool = False, dashboard: bool = False
) -> tuple[Any, SqliteRecorder, BackgroundDrain | None]:
    """The receiver app (and, with ``dashboard``, the dashboard's pages mounted under /dashboard)."""
    from mautic_ctl.webhooks.server import create_webhook_app

    settings = rt.settings
    configs = provider_configs(settings)
    recorder = make_recorder(settings)
    drain = BackgroundDrain(rt) if apply else None
    token = settings.webhook.events_token
    app = create_webhook_app(
        stripe=configs["stripe"],
        lemonsqueezy=configs["lemonsqueezy"],
        events_token=token.get_secret_value() if token else None,
        recorder=recorder,
        vocab=settings.vocabulary(),
        on_recorded=drain.notify if drain else None,
    )
    if dashboard:
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from mautic_ctl.services.dashboard import dashboard_app

        app = Starlette(routes=[Mount("/dashboard", app=dashboard_app(rt)), Mount("/", app=app)])
    return app, recorder, drain


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` before anything is printed, so a busy port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(
                f"cannot listen on {host}:{port}: the address is already in use; "
                "stop what holds it or choose another --port."
            ) from None
        raise Unavailable(f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port.") from None
    return sock


def serve_webhooks(
    rt: Runtime,
    *,
    host: str | None,
    port: int | None,
    apply: bool,
    on_ready: Callable[[str], None],
    dashboard: bool = False,
) -> None:
    """Serve until interrupted; ``on_ready`` gets the URL once the port is bound (the CLI's banner)."""
    import uvicorn

    if apply:
        rt.settings.require_mautic()
    host = host or rt.settings.webhook.host
    port = port or rt.settings.webhook.port
    if dashboard:
        from mautic_ctl.services.dashboard import check_exposure

        check_exposure(rt, host)
    sock = listen(host, port)
    app, recorder, drain = build_app(rt, apply=apply, dashboard=dashboard)
    on_ready(f"http://{host}:{port}")
    try:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        server.run(sockets=[sock])
    finally:
        if drain:
            drain.stop()
        recorder.close()
