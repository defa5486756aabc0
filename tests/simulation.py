"""A seeded population for the experiments report: signups split by a welcome experiment, then upgrades
whose probability depends on which welcome campaign the user really got in (emulated) Mautic.

Everything goes through the real paths: events are ingested into the queue (`mautic-ctl ingest`),
drained into the emulator (`queue run`), and the world's reaction is read from what Mautic holds —
the product never knows the arm, only the campaign a contact is in matters.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mautic_ctl.emulator.seed import SEED_CAMPAIGNS
from mautic_ctl.emulator.server import EmulatorHandle

START = datetime(2026, 5, 1, tzinfo=UTC)
UPGRADE_RATE = {"A": 0.30, "B": 0.20, "holdout": 0.10}
"""The built-in truth: P(upgrade within 28 days of signup) for users in each welcome arm's campaign."""
LATE_RATE = 0.05  # upgrades 40-60 days after signup: outside a 30-day window, must not count
PRICE = 29.0


def experiment_config(b_campaign: str = "Welcome B") -> str:
    return f"""
[[experiments]]
name = "welcome-2026"
slot = "welcome"
field = "exp_welcome"
arms = [
  {{ name = "A", campaign = {SEED_CAMPAIGNS["welcome"]}, weight = 45 }},
  {{ name = "B", campaign = "{b_campaign}", weight = 45 }},
  {{ name = "holdout", campaign = "none", weight = 10 }},
]
"""


def signups(n: int) -> list[dict]:
    return [
        {
            "type": "signup",
            "user_id": f"sim-{i}",
            "email": f"sim-{i}@example.com",
            "tier": "free",
            "occurred_at": (START + timedelta(minutes=30 * i)).isoformat(),
            "event_id": f"sim-signup-{i}",
        }
        for i in range(n)
    ]


def arm_in_mautic(mautic: EmulatorHandle, email: str, b_campaign_id: int) -> str:
    """Which welcome the contact really got: the seeded Welcome (arm A), Welcome B, or none (held out)."""
    state = mautic.state
    contact = state.contact_by_email(email)
    assert contact is not None, email
    campaigns = state.campaign_ids_of(contact.id)
    if SEED_CAMPAIGNS["welcome"] in campaigns:
        return "A"
    return "B" if b_campaign_id in campaigns else "holdout"


def reactions(mautic: EmulatorHandle, people: list[dict], b_campaign_id: int, seed: int) -> list[dict]:
    """Upgrades (and a first payment) drawn with each arm's built-in rate; some late upgrades as noise."""
    rng = random.Random(seed)
    out = []
    for person in people:
        arm = arm_in_mautic(mautic, person["email"], b_campaign_id)
        signed_up = datetime.fromisoformat(person["occurred_at"])
        user = person["user_id"]
        if rng.random() < UPGRADE_RATE[arm]:
            at = signed_up + timedelta(days=rng.uniform(1, 28))
        elif rng.random() < LATE_RATE:
            at = signed_up + timedelta(days=rng.uniform(40, 60))
        else:
            continue
        out.append({"type": "plan_change", "user_id": user, "to": "pro", "occurred_at": at.isoformat(),
                    "event_id": f"sim-up-{user}"})  # fmt: skip
        out.append({"type": "payment", "user_id": user, "amount": PRICE,
                    "occurred_at": (at + timedelta(hours=1)).isoformat(), "event_id": f"sim-pay-{user}"})  # fmt: skip
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_population(
    cli: Callable[..., object],
    mautic: EmulatorHandle,
    config: Path,
    tmp: Path,
    b_campaign_id: int,
    *,
    n: int,
    seed: int,
) -> None:
    """Signups ingested and drained, then the world's reactions ingested and drained."""
    people = signups(n)
    for name, records in (("signups", people),):
        res = cli("--config", str(config), "ingest", str(write_jsonl(tmp / f"{name}.jsonl", records)))
        assert res.code == 0, res.stderr
    res = cli("--config", str(config), "queue", "run", "--json")
    assert res.code == 0, res.stderr
    later = reactions(mautic, people, b_campaign_id, seed)
    res = cli("--config", str(config), "ingest", str(write_jsonl(tmp / "reactions.jsonl", later)))
    assert res.code == 0, res.stderr
    res = cli("--config", str(config), "queue", "run", "--json")
    assert res.code == 0, res.stderr
