"""`mautic-ctl demo`: a lifecycle story against an in-process Mautic emulator, through the real code paths.

Nothing is mocked: events are validated, recorded in a real (temporary) SQLite queue, planned by the
rules and applied by the drain over HTTP (ASGI transport) to the emulator; an outage in the middle
is survived by the queue. At the end Mautic is read back through its REST API.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from mautic_ctl.emulator import SEED_CAMPAIGNS, SEED_SEGMENTS, EmulatorConfig
from mautic_ctl.emulator.app import create_app
from mautic_ctl.events import build_event
from mautic_ctl.services.drain import drain_now, run_drain
from mautic_ctl.services.record import record
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.settings import load_settings
from mautic_ctl.store import mirror

STORY: list[tuple[str, str, dict[str, Any]]] = [
    ("ada", "signup", {"email": "ada@example.com", "first_name": "Ada", "tier": "free"}),
    ("bob", "signup", {"email": "bob@example.com", "first_name": "Bob", "tier": "pro"}),
    ("cyd", "signup", {"email": "cyd@example.com", "first_name": "Cyd", "tier": "enterprise"}),
    ("ada", "plan_change", {"tier": "pro"}),
    ("cyd", "plan_change", {"tier": "free"}),
    ("ada", "plan_change", {"tier": "enterprise"}),
    # --- Mautic goes down here: these are recorded, queued, and applied once it is back ---
    ("ada", "plan_change", {"tier": "pro"}),
    ("bob", "plan_change", {"tier": "cancelled"}),
    ("ada", "plan_change", {"tier": "cancelled"}),
    # --- Mautic is back ---
    ("ada", "plan_change", {"tier": "pro"}),
    ("bob", "sync_contact", {"fields": {"lifetime_value": "348"}}),
]
OUTAGE = (6, 9)  # story steps [6, 9) happen while Mautic is down
SHOWN_FIELDS = ("subscription_tier", "subscription_status", "signup_date", "lifetime_value")


@dataclass
class Step:
    user: str
    kind: str
    detail: str
    status: str
    transition: str | None


@dataclass
class ContactState:
    email: str
    contact_id: int
    segments: list[str]
    campaigns: list[str]
    fields: dict[str, Any]


@dataclass
class DemoResult:
    steps: list[Step] = field(default_factory=list)
    drained_after_outage: int = 0
    contacts: list[ContactState] = field(default_factory=list)
    api_calls: int = 0


def demo_settings(db: Path, url: str) -> Any:
    return load_settings(
        None,
        mautic={"base_url": url, "client_id": "1_emulator", "client_secret": "emulator-secret", "http_retries": 1},
        queue={"db": db, "backoff_base": 0.05, "backoff_max": 0.1},
        segments={k: v for k, v in SEED_SEGMENTS.items()},
        campaigns={
            "welcome": SEED_CAMPAIGNS["welcome"],
            "retention": SEED_CAMPAIGNS["retention"],
            "winback": SEED_CAMPAIGNS["winback"],
            "onboarding": {
                "pro": SEED_CAMPAIGNS["onboarding_pro"],
                "enterprise": SEED_CAMPAIGNS["onboarding_enterprise"],
            },
        },
    )


def run_demo(on_step: Callable[[Step], None] | None = None) -> DemoResult:
    app = create_app(EmulatorConfig())
    emulator = app.state.emulator
    result = DemoResult()
    with tempfile.TemporaryDirectory(prefix="mautic-ctl-demo-") as tmp:
        rt = Runtime(
            demo_settings(Path(tmp) / "queue.db", "http://mautic.demo"), transport=httpx.ASGITransport(app=app)
        )
        vocab = rt.settings.vocabulary()
        start = datetime.now(UTC) - timedelta(minutes=len(STORY))
        for index, (user, kind, values) in enumerate(STORY):
            if index == OUTAGE[0]:
                emulator.injector.down_for(None, "503")
            if index == OUTAGE[1]:
                emulator.injector.up()
                time.sleep(0.15)  # the demo's backoff is 0.05-0.1 s, so the queued retries are now due
                result.drained_after_outage = run_drain(rt, rt.drain_options()).applied
            event = build_event(kind, vocab, user_id=user, now=start + timedelta(minutes=index), **values)
            outcome = record(rt.conn, rt.settings.queue.db, event, drain=lambda: drain_now(rt))
            step = Step(user, kind, _describe(kind, values), outcome.status, outcome.transition)
            result.steps.append(step)
            if on_step:
                on_step(step)
        result.contacts = asyncio.run(_read_back(rt))
        result.api_calls = emulator.counters.total
        rt.close()
    return result


def _describe(kind: str, values: dict[str, Any]) -> str:
    if kind == "signup":
        return f"{values['email']} signs up ({values['tier']})"
    if kind == "plan_change":
        return f"plan -> {values['tier']}"
    return ", ".join(f"{k}={v}" for k, v in values.get("fields", {}).items())


async def _read_back(rt: Runtime) -> list[ContactState]:
    """What Mautic holds, read through its REST API like any client would."""
    out = []
    users = mirror.contacts(rt.conn)
    async with rt.client() as client:
        for email, contact_id in users:
            contact = await client.get_contact(contact_id)
            segments = await client.contact_segments(contact_id)
            campaigns = await client.contact_campaigns(contact_id)
            values = contact.get("fields", {}).get("all", {})
            out.append(
                ContactState(
                    email,
                    contact_id,
                    sorted(s.get("name", str(i)) for i, s in segments.items()),
                    sorted(c.get("name", str(i)) for i, c in campaigns.items()),
                    {
                        k: values.get(k)
                        for k in ("subscription_tier", "subscription_status", "signup_date", "lifetime_value")
                    },
                )
            )
    return out
