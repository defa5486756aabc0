"""`mautic-ctl demo`: the lifecycle story, end to end, with an outage the queue survives."""

from __future__ import annotations

from tests.helpers import run_installed


def test_demo_ends_with_the_right_state_in_mautic():
    """The installed `mautic-ctl demo --json`: queued events applied after the outage; each contact correct."""
    res = run_installed(["demo", "--json"], {}, timeout=120)
    assert res.code == 0, res.stderr
    payload = res.json()
    statuses = [s["status"] for s in payload["steps"]]
    assert statuses.count("queued") == 3 and payload["drained_after_outage"] == 3
    contacts = {c["email"]: c for c in payload["contacts"]}
    ada, bob, cyd = contacts["ada@example.com"], contacts["bob@example.com"], contacts["cyd@example.com"]
    assert ada["segments"] == ["New Users", "Pro Tier"] and "Win-back" not in ada["campaigns"]
    assert ada["fields"]["subscription_tier"] == "pro" and ada["fields"]["subscription_status"] == "active"
    assert bob["segments"] == ["Churned", "Free Tier", "New Users"] and "Win-back" in bob["campaigns"]
    assert bob["fields"]["lifetime_value"] == 348
    assert cyd["segments"] == ["Free Tier", "New Users"] and "Retention" in cyd["campaigns"]
