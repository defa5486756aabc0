"""doctor: everything an operator needs to know about this set-up, in one place, with what to fix.

Each check is a ``Finding``: information (``ok=None``), a pass, or a failure with what to do. Secrets
are reported as "set" or "not set", never shown. The checks talk to Mautic through the client only.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautic_ctl.errors import MauticCtlError, MauticError
from mautic_ctl.services.runtime import Runtime

SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")
BASIC_SERVER_SECONDS = 0.46  # measured on a real Mautic 5.1 (README, "Use OAuth2, not HTTP Basic")
BEARER_SERVER_SECONDS = 0.03


@dataclass(frozen=True, slots=True)
class Finding:
    area: str  # config | queue | mautic | auth | verify
    name: str
    ok: bool | None  # None: information only
    detail: str
    warning: bool = False  # works, but costs or risks something: said on stderr, not a failure


def env_in_effect(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The MAUTIC_* variables set, secrets as "set (hidden)"."""
    environ = dict(os.environ if environ is None else environ)
    out = []
    for name in sorted(n for n in environ if n.startswith("MAUTIC_")):
        secret = any(word in name.upper() for word in SECRET_WORDS)
        out.append((name, "set (hidden)" if secret else environ[name]))
    return out


def basic_warning(seconds: float, calls_per_event: float = 1.85) -> str:
    """The cost of HTTP Basic in numbers: bcrypt on every request."""
    per_1000 = 1000 * calls_per_event * BASIC_SERVER_SECONDS / 60
    return (
        f"HTTP Basic: this call took {seconds:.2f} s; Mautic checks the bcrypt hash on every request "
        f"(~{BASIC_SERVER_SECONDS} s of server CPU each on a real 5.1, vs ~{BEARER_SERVER_SECONDS} s with OAuth2), "
        f"so 1,000 events (~{calls_per_event:.2f} calls each) cost ~{per_1000:.0f} min of server CPU: "
        "create an OAuth2 client (Settings > API Credentials) and set MAUTIC_CLIENT_ID / MAUTIC_CLIENT_SECRET."
    )


def doctor(rt: Runtime, config_file: Path | None, profile: str | None = None) -> list[Finding]:
    from mautic_ctl.config import ENV_PROFILE

    findings = [
        Finding("config", "config file", None, str(config_file) if config_file else "none (environment and defaults)"),
        Finding("config", "profile", None, profile or os.environ.get(ENV_PROFILE) or "none"),
    ]
    findings += [Finding("config", name, None, value) for name, value in env_in_effect()]
    findings += _queue(rt)
    try:
        rt.settings.require_mautic()
    except MauticCtlError as exc:
        return [*findings, Finding("mautic", "configuration", False, exc.message)]
    return findings + asyncio.run(_mautic(rt))


def _queue(rt: Runtime) -> list[Finding]:
    from mautic_ctl.store import queue as q
    from mautic_ctl.store.db import SCHEMA_VERSION

    path = rt.settings.queue.db
    try:
        conn = rt.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        stats = q.stats(conn, time.time())
    except (MauticCtlError, sqlite3.Error) as exc:
        return [Finding("queue", "database", False, f"{path}: {exc}")]
    counts = stats["counts"]
    backlog = counts["pending"] + counts["processing"]
    age = stats["oldest_due_age_s"]
    return [
        Finding("queue", "database", True, f"{path} (schema version {version} of {SCHEMA_VERSION})"),
        Finding(
            "queue",
            "backlog",
            None,
            f"{backlog} open, {stats['due']} due now" + (f", the oldest due for {age:.0f} s" if age else ""),
        ),
        Finding(
            "queue",
            "dead events",
            counts["dead"] == 0,
            f"{counts['dead']}" + (" (see `mautic-ctl queue list --status dead`)" if counts["dead"] else ""),
        ),
    ]


async def _mautic(rt: Runtime) -> list[Finding]:
    from mautic_ctl.services.verify import check_all

    m = rt.settings.mautic
    basic = not m.oauth2
    out = [
        Finding("mautic", "base URL", None, str(m.base_url)),
        Finding("auth", "mode", None, "HTTP Basic" if basic else "OAuth2 client credentials"),
    ]
    async with rt.client() as client:
        try:
            first = await client.probe()  # OAuth2: includes the token request
            timed = await client.probe()
        except MauticError as exc:
            return [*out, Finding("mautic", "reachable", False, exc.message)]
        out.append(Finding("mautic", "reachable", True, f"Mautic {timed.version or '(version header missing)'}"))
        if basic:
            out.append(Finding("auth", "cost", None, basic_warning(timed.seconds), warning=True))
        else:
            out.append(
                Finding(
                    "auth",
                    "cost",
                    True,
                    f"token + first call {first.seconds:.3f} s, then {timed.seconds:.3f} s per call (Bearer)",
                )
            )
        out.append(Finding("mautic", "API enabled", True, "answers authenticated API calls"))
        limit = timed.rate_limit
        out.append(
            Finding(
                "mautic",
                "rate limit",
                None,
                f"{timed.rate_remaining} of {limit} calls left" if limit else "no X-RateLimit headers seen",
            )
        )
        try:
            checks = await check_all(rt, client)
        except MauticError as exc:
            return [*out, Finding("verify", "verify-config", False, exc.message)]
    failed = [c for c in checks if not c.ok and not c.warning]
    warned = [c for c in checks if c.warning]
    detail = f"{len(checks) - len(failed) - len(warned)} of {len(checks)} configured items ok"
    if warned:
        detail += f", {len(warned)} warning(s) ({', '.join(f'{c.kind} {c.key}' for c in warned[:5])})"
    if failed:
        names = ", ".join(f"{c.kind} {c.key} ({c.detail})" for c in failed[:5])
        detail += f"; missing or unusable: {names} — `mautic-ctl bootstrap` can create them"
    out.append(Finding("verify", "verify-config", not failed, detail))
    return out


def as_json(findings: list[Finding]) -> dict[str, Any]:
    return {
        "ok": all(f.ok is not False for f in findings),
        "checks": [
            {"area": f.area, "name": f.name, "ok": f.ok, "detail": f.detail, "warning": f.warning} for f in findings
        ],
    }
