"""Serving helpers: run the emulator on a real socket in a background thread (tests, benchmarks) or in
the foreground (the CLI).

The server uses uvicorn's h11 protocol, subclassed only to remember each connection's transport, so
the `drop` faults can abort the TCP connection for real (the client sees a connection error).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import ConnectionRegistry, Emulator, create_app
from .config import EmulatorConfig, FaultConfig
from .counters import RequestCounters
from .state import MauticState


def _protocol(registry: ConnectionRegistry) -> type[asyncio.Protocol]:
    class TrackingProtocol(H11Protocol):
        """H11Protocol that registers its transport under the client address used in the ASGI scope."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            registry.served = True
            if self.client:
                registry.transports[tuple(self.client)] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                registry.transports.pop(tuple(self.client), None)
            super().connection_lost(exc)

    return TrackingProtocol


class _ThreadServer(uvicorn.Server):
    """No signal handlers: the server lives in a non-main thread (like httpx's test server)."""

    def install_signal_handlers(self) -> None:  # pragma: no cover - older uvicorn
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket created with proto IPPROTO_TCP.

    asyncio only sets TCP_NODELAY on accepted connections when the listening socket's proto is
    IPPROTO_TCP; with proto 0, Nagle + delayed ACK add ~40 ms to every keep-alive response.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def build_server(app: Starlette, sock: socket.socket | None = None, *, background: bool = True) -> uvicorn.Server:
    """A uvicorn server for `app`, tracking connections so faults can drop them."""
    emulator: Emulator = app.state.emulator
    config = uvicorn.Config(
        app,
        http=_protocol(emulator.connections),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    return _ThreadServer(config) if background else uvicorn.Server(config)


@dataclass
class EmulatorHandle:
    """A running emulator: its URL, its in-memory Mautic and its live fault settings."""

    url: str
    app: Starlette
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def emulator(self) -> Emulator:
        return self.app.state.emulator

    @property
    def state(self) -> MauticState:
        """The in-memory Mautic (contacts, memberships, rotations) to inspect or prepare."""
        return self.emulator.state

    @property
    def faults(self) -> FaultConfig:
        """Live fault settings: mutate them or assign a new FaultConfig."""
        return self.emulator.faults

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self.emulator.faults = value

    @property
    def counters(self) -> RequestCounters:
        return self.emulator.counters

    def down_for(self, seconds: float | None, mode: str = "503") -> None:
        """Refuse every call for `seconds` (None: until `up()`); mode "503" or "drop"."""
        self.emulator.injector.down_for(seconds, mode)

    def up(self) -> None:
        self.emulator.injector.up()

    def issue_token(self, lifetime: float | None = None) -> str:
        return self.emulator.issue_token(lifetime)

    def console(self, command: str) -> int:
        return self.emulator.console(command)

    def reset(self, *, seed: bool | None = None) -> None:
        self.emulator.reset(seed=seed)

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the server down and wait for its thread (hung fault requests are cut short)."""
        self.emulator.stopping = True
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)


def start_in_thread(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, app: Any = None
) -> EmulatorHandle:
    """Start an emulator on `host:port` (0 = a free port) in a daemon thread; call `.stop()` after."""
    app = app or create_app(config)
    sock = listening_socket(host, port)
    server = build_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mautic-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Mautic emulator did not start")
        time.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    return EmulatorHandle(f"http://{bound_host}:{bound_port}", app, server, thread)


@contextlib.contextmanager
def serve_in_thread(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[EmulatorHandle]:
    """`with serve_in_thread() as mautic: httpx.get(mautic.url + "/api/segments", auth=...)`."""
    handle = start_in_thread(config, host=host, port=port)
    try:
        yield handle
    finally:
        handle.stop()


def serve_forever(config: EmulatorConfig, *, host: str, port: int) -> None:
    """Run in the foreground until Ctrl-C (the CLI command)."""
    app = create_app(config)
    build_server(app, background=False).run(sockets=[listening_socket(host, port)])
