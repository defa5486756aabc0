"""`webhook serve`: the receiver app wired to the SQLite recorder, and an optional background drain."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from mautic_ctl.services.billing import SqliteRecorder, provider_configs
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


def build_app(rt: Runtime, *, apply: bool = False) -> tuple[Any, SqliteRecorder, BackgroundDrain | None]:
    from mautic_ctl.webhooks.server import create_webhook_app

    settings = rt.settings
    configs = provider_configs(settings)
    recorder = SqliteRecorder(settings.queue.db, configs, settings.vocabulary())
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
    return app, recorder, drain


def serve_webhooks(rt: Runtime, *, host: str | None, port: int | None, apply: bool) -> None:
    import uvicorn

    from mautic_ctl.cli.output import info

    if apply:
        rt.settings.require_mautic()
    app, recorder, drain = build_app(rt, apply=apply)
    host = host or rt.settings.webhook.host
    port = port or rt.settings.webhook.port
    info(
        f"mautic-ctl webhook receiver on http://{host}:{port} (POST /webhooks/stripe, /webhooks/lemonsqueezy, /events)"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if drain:
            drain.stop()
        recorder.close()
