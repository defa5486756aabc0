"""A faithful Mautic 5.1 REST API emulator (Starlette/ASGI) with fault injection, for tests and benchmarks.

    from mautic_ctl.emulator import serve_in_thread, SEED_SEGMENTS
    with serve_in_thread() as mautic:
        httpx.post(f"{mautic.url}/api/segments/{SEED_SEGMENTS['pro']}/contact/1/add", auth=("admin", ...))
        mautic.faults.fail_rate = 0.3

In-process: `httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://mautic")`.
"""

from importlib import import_module
from typing import Any

# Names resolve lazily (PEP 562): `mautic-ctl` imports `emulator.config` at every start to declare
# the `emulator` command, and must not pay for Starlette and uvicorn unless the emulator is used.
_WHERE = {
    "Emulator": "app",
    "create_app": "app",
    "DEFAULT_CLIENT_ID": "config",
    "DEFAULT_CLIENT_SECRET": "config",
    "DEFAULT_PASSWORD": "config",
    "DEFAULT_USERNAME": "config",
    "MAUTIC_VERSION": "config",
    "EmulatorConfig": "config",
    "FaultConfig": "config",
    "SEED_CAMPAIGNS": "seed",
    "SEED_FIELDS": "seed",
    "SEED_SEGMENTS": "seed",
    "EmulatorHandle": "server",
    "serve_in_thread": "server",
    "start_in_thread": "server",
    "MauticState": "state",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)


__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "MAUTIC_VERSION",
    "SEED_CAMPAIGNS",
    "SEED_FIELDS",
    "SEED_SEGMENTS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "FaultConfig",
    "MauticState",
    "create_app",
    "serve_in_thread",
    "start_in_thread",
]
