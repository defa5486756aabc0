"""Start-up and run-time settings of the emulator, as plain dataclasses.

`EmulatorConfig` is fixed when the app is built; `FaultConfig` is the part a test may change while the
server runs (from Python through `Emulator.faults`, or over HTTP through `POST /_emulator/faults`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

MAUTIC_VERSION = "5.1.0"

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "mautic-emulator"
DEFAULT_CLIENT_ID = "1_emulator"
DEFAULT_CLIENT_SECRET = "emulator-secret"
DEFAULT_CLIENT_NAME = "mautic-ctl emulator"

PROFILES = ("none", "mautic51")


@dataclass
class FaultConfig:
    """Misbehaviour to inject; everything is off by default and random choices use `seed`.

    Rates are probabilities in [0, 1] drawn once per request, in request order, from one seeded
    generator, so a run with the same requests sees the same faults.
    """

    latency_ms: float = 0.0
    """Fixed delay added to every faultable call."""
    jitter_ms: float = 0.0
    """Extra uniform random delay in [0, jitter_ms]."""
    fail_rate: float = 0.0
    """Share of calls answered with a 5xx before anything is applied."""
    fail_statuses: tuple[int, ...] = (500, 502, 503)
    timeout_rate: float = 0.0
    """Share of calls that hang `hang_seconds` without being applied, then lose the connection."""
    lost_response_rate: float = 0.0
    """Share of calls that ARE applied, then hang `hang_seconds` and lose the connection."""
    hang_seconds: float = 30.0
    drop_rate: float = 0.0
    """Share of calls whose connection is closed without any response (nothing applied)."""
    down: bool = False
    """While true every faultable call is refused (see `down_mode`)."""
    down_until: float | None = None
    """Unix time until which the server is down; None means no timed window."""
    down_mode: str = "503"
    """How a down server answers: "503" (JSON 503) or "drop" (connection closed)."""
    rate_limit: int = 0
    """Mautic's api_rate_limiter_limit: N calls per period on /api (0 = off)."""
    rate_limit_period: float = 3600.0
    profile: str = "none"
    """"mautic51" charges the CPU time a real Mautic 5.1 spent on a 2-core box."""
    cost_scale: float = 1.0
    """Multiplier on the profile's charges (tests use a tiny value)."""
    cores: int = 2
    seed: int | None = None
    paths: tuple[str, ...] = ("/api", "/oauth")
    """Path prefixes the faults apply to; the control endpoints are never faulted."""

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """Return a copy with `changes` applied, rejecting unknown keys (used by the HTTP control API)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if changes.get("profile", "none") not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}")
        fixed = dict(changes)
        for key in ("fail_statuses", "paths"):
            if key in fixed and fixed[key] is not None:
                fixed[key] = tuple(fixed[key])
        return replace(self, **fixed)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view of the settings."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


@dataclass
class EmulatorConfig:
    """What the emulated Mautic looks like when it starts."""

    users: dict[str, str] = field(default_factory=lambda: {DEFAULT_USERNAME: DEFAULT_PASSWORD})
    """HTTP Basic users, name -> password."""
    clients: dict[str, str] = field(default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET})
    """OAuth2 clients allowed the client_credentials grant, client_id -> secret."""
    client_name: str = DEFAULT_CLIENT_NAME
    api_enabled: bool = True
    basic_auth_enabled: bool = True
    token_lifetime: float = 3600.0
    """Seconds an access token stays valid (Mautic's default is one hour)."""
    batch_max: int = 200
    seed: bool = True
    """Create the seed segments, campaigns and custom fields; False leaves only the stock fields."""
    faults: FaultConfig = field(default_factory=FaultConfig)
