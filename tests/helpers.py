"""Test helpers: run the CLI (in-process or as the installed command) and read what Mautic holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from mautic_ctl.emulator.seed import SEED_CAMPAIGNS, SEED_SEGMENTS
from mautic_ctl.emulator.server import EmulatorHandle

SEGMENT_ENV = {
    "MAUTIC_NEW_USERS_SEGMENT_ID": SEED_SEGMENTS["new_users"],
    "MAUTIC_FREE_TIER_SEGMENT_ID": SEED_SEGMENTS["free"],
    "MAUTIC_PRO_TIER_SEGMENT_ID": SEED_SEGMENTS["pro"],
    "MAUTIC_ENTERPRISE_TIER_SEGMENT_ID": SEED_SEGMENTS["enterprise"],
    "MAUTIC_CHURNED_SEGMENT_ID": SEED_SEGMENTS["churned"],
    "MAUTIC_WELCOME_CAMPAIGN_ID": SEED_CAMPAIGNS["welcome"],
    "MAUTIC_PRO_ONBOARDING_CAMPAIGN_ID": SEED_CAMPAIGNS["onboarding_pro"],
    "MAUTIC_ENTERPRISE_ONBOARDING_CAMPAIGN_ID": SEED_CAMPAIGNS["onboarding_enterprise"],
    "MAUTIC_RETENTION_CAMPAIGN_ID": SEED_CAMPAIGNS["retention"],
    "MAUTIC_WINBACK_CAMPAIGN_ID": SEED_CAMPAIGNS["winback"],
}
SEGMENT_NAMES = {v: k for k, v in SEED_SEGMENTS.items()}
CAMPAIGN_NAMES = {v: k for k, v in SEED_CAMPAIGNS.items()}
CLIENT_ID, CLIENT_SECRET = "1_emulator", "emulator-secret"


def mautic_env(url: str, db: str, **extra: str) -> dict[str, str]:
    env = {
        "MAUTIC_BASE_URL": url,
        "MAUTIC_CLIENT_ID": CLIENT_ID,
        "MAUTIC_CLIENT_SECRET": CLIENT_SECRET,
        "MAUTIC_CTL_DB": db,
        **{k: str(v) for k, v in SEGMENT_ENV.items()},
    }
    env.update(extra)
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_installed(args: list[str], env: dict[str, str], *, stdin: bytes | None = None, timeout: float = 60) -> Result:
    """Run the installed `mautic-ctl` console script as a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    proc = subprocess.run([exe, *args], env=full_env, input=stdin, capture_output=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@dataclass(frozen=True)
class ContactView:
    contact_id: int
    segments: frozenset[str]
    campaigns: frozenset[str]  # active memberships
    entries: dict[str, int]  # every campaign ever entered -> number of entries (2+ = entered twice)
    fields: dict[str, Any]


def contact_view(mautic: EmulatorHandle, email: str) -> ContactView | None:
    """What the emulated Mautic holds for this email (segments and campaigns by seed name)."""
    state = mautic.state
    contact = state.contact_by_email(email)
    if contact is None:
        return None
    cid = contact.id
    segments = frozenset(SEGMENT_NAMES.get(s, str(s)) for s in state.segment_ids_of(cid))
    campaigns = frozenset(CAMPAIGN_NAMES.get(c, str(c)) for c in state.campaign_ids_of(cid))
    entries = {
        CAMPAIGN_NAMES.get(camp, str(camp)): len(rows)
        for (camp, contact), rows in list(state.campaign_entries.items())
        if contact == cid
    }
    fields = {
        alias: state.field_value(email, alias)
        for alias in ("subscription_tier", "subscription_status", "signup_date", "lifetime_value", "firstname")
    }
    return ContactView(cid, segments, campaigns, entries, fields)


def snapshot(mautic: EmulatorHandle) -> dict[str, tuple]:
    """The whole contact-membership state of the emulator, comparable between runs."""
    out = {}
    for contact in list(mautic.state.contacts.values()):
        email = contact.get("email")
        view = contact_view(mautic, email)
        out[email.lower()] = (
            view.segments,
            tuple(sorted(view.campaigns)),
            tuple(sorted(view.entries.items())),
            tuple(sorted((k, str(v)) for k, v in view.fields.items() if k != "signup_date")),
        )
    return out


def make_all_due(db: str | None = None) -> None:
    """Skip the backoff wait: every pending event becomes due now (the clock is not ours to move)."""
    import sqlite3

    conn = sqlite3.connect(db or os.environ["MAUTIC_CTL_DB"])
    conn.execute("UPDATE events SET next_attempt_at = 0 WHERE status = 'pending'")
    conn.commit()
    conn.close()


class AppServer:
    """Any ASGI app on a free loopback port, in a thread (signal handlers off), like httpx's test server."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading
        import time

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
