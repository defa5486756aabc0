"""Billing webhooks end to end: signed deliveries over real HTTP, recorded in SQLite, applied to the emulator."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mautic_ctl.services.drain import run_drain
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.webhooks.signatures import sign_stripe
from mautic_ctl.webhooks.simulate import simulate
from tests.helpers import contact_view
from tests.integration.webhooks.conftest import write_config

STRIPE_SECRET, LS_SECRET = "whsec_e2e_secret", "ls_e2e_secret"
STRIPE_TIERS = {"price_free": "free", "price_pro": "pro", "price_ent": "enterprise"}
LS_TIERS = {"111": "free", "222": "pro", "333": "enterprise"}
CONFIG = f"""
[stripe]
webhook_secret = "{STRIPE_SECRET}"
[stripe.tiers]
{chr(10).join(f'{k} = "{v}"' for k, v in STRIPE_TIERS.items())}
[lemonsqueezy]
signing_secret = "{LS_SECRET}"
[lemonsqueezy.tiers]
{chr(10).join(f'"{k}" = "{v}"' for k, v in LS_TIERS.items())}
"""
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", CONFIG)


def stripe(event: str, email: str, user: str, at: datetime, *, frm=None, to=None, secret=STRIPE_SECRET):
    """A Stripe event created at ``at``, signed now (Stripe signs each delivery attempt when it sends it)."""
    d = simulate("stripe", event, email=email, from_tier=frm, to_tier=to, secret=None,
                 tiers=STRIPE_TIERS, now=at, user_id=user)  # fmt: skip
    d.headers["Stripe-Signature"] = sign_stripe(d.body, secret, int(time.time()))
    return d


def post(url: str, delivery, path="/webhooks/stripe") -> httpx.Response:
    return httpx.post(url + path, content=delivery.body, headers=delivery.headers, timeout=10)


def drain(rt: Runtime) -> None:
    report = run_drain(rt, rt.drain_options())
    assert report.dead == 0 and report.retried == 0, report.outcomes


def count_events(rt: Runtime) -> int:
    return rt.conn.execute("SELECT count(*) FROM events").fetchone()[0]


@pytest.mark.timeout(120)
def test_100_concurrent_signed_deliveries_all_recorded_and_applied(rt, receiver, mautic):
    """100 concurrent signed Stripe deliveries: 100 recorded (2xx after commit), 100 applied; a forged one is refused."""
    deliveries = [
        stripe("customer.subscription.created", f"c{i}@example.com", f"user{i}", T0, to="pro") for i in range(100)
    ]

    async def send_all() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            responses = await asyncio.gather(*(
                client.post(receiver + "/webhooks/stripe", content=d.body, headers=d.headers) for d in deliveries
            ))  # fmt: skip
        return [r.status_code for r in responses]

    assert asyncio.run(send_all()) == [200] * 100
    forged = stripe(
        "customer.subscription.created", "evil@example.com", "evil", T0, to="enterprise", secret="whsec_wrong"
    )
    assert post(receiver, forged).status_code == 400
    tampered = deliveries[0]
    body = tampered.body.replace(b"c0@example.com", b"x0@example.com")
    assert httpx.post(receiver + "/webhooks/stripe", content=body, headers=tampered.headers).status_code == 400
    assert count_events(rt) == 100
    drain(rt)
    for i in range(100):
        view = contact_view(mautic, f"c{i}@example.com")
        assert view.segments >= {"pro"} and "onboarding_pro" in view.campaigns
    assert contact_view(mautic, "evil@example.com") is None


def test_stripe_lifecycle_in_order_and_duplicates(rt, receiver, mautic):
    """created -> updated (upgrade) -> deleted (churn) -> invoice.paid; redelivery changes nothing."""
    email, user = "ada@example.com", "ada"
    steps = [
        stripe("customer.subscription.created", email, user, T0, to="pro"),
        stripe("customer.subscription.updated", email, user, T0 + timedelta(minutes=1), frm="pro", to="enterprise"),
        stripe("invoice.paid", email, user, T0 + timedelta(minutes=2), to="enterprise"),
        stripe("customer.subscription.deleted", email, user, T0 + timedelta(minutes=3), frm="enterprise"),
    ]
    for d in steps:
        assert post(receiver, d).status_code == 200
        drain(rt)
    before = contact_view(mautic, email)
    assert before.fields["subscription_status"] == "cancelled"
    assert {"churned", "free"} <= before.segments and "enterprise" not in before.segments
    assert "winback" in before.campaigns and before.entries.get("onboarding_enterprise") == 1
    assert before.fields["lifetime_value"] == 29
    calls = mautic.counters.total
    for d in steps:  # the provider retries every delivery
        res = post(receiver, d)
        assert res.status_code == 200 and res.json()["status"] == "duplicate"
    drain(rt)
    assert mautic.counters.total == calls
    assert contact_view(mautic, email) == before


def test_stripe_out_of_order_ends_in_the_newest_state(rt, receiver, mautic):
    """updated before created, deleted before updated: older deliveries are superseded, never applied over newer."""
    email, user = "bob@example.com", "bob"
    created = stripe("customer.subscription.created", email, user, T0, to="free")
    updated = stripe("customer.subscription.updated", email, user, T0 + timedelta(minutes=1), frm="free", to="pro")
    deleted = stripe("customer.subscription.deleted", email, user, T0 + timedelta(minutes=2), frm="pro")
    assert post(receiver, updated).status_code == 200
    drain(rt)
    assert post(receiver, created).json()["status"] == "superseded"  # an older snapshot than `updated`
    drain(rt)
    view = contact_view(mautic, email)
    assert view.fields["subscription_tier"] == "pro" and "pro" in view.segments
    assert post(receiver, deleted).status_code == 200
    drain(rt)
    assert post(receiver, updated).status_code == 200  # a redelivery of the older update
    drain(rt)
    statuses = dict(rt.conn.execute("SELECT event_id, status FROM events").fetchall())
    assert sorted(statuses.values()) == ["done", "done"]  # the older `created` never became a queue event
    superseded = rt.conn.execute("SELECT delivery_id, superseded_by FROM deliveries WHERE outcome = 'superseded'")
    assert [tuple(r) for r in superseded] == [(json.loads(created.body)["id"], json.loads(updated.body)["id"])]
    view = contact_view(mautic, email)
    assert view.fields["subscription_status"] == "cancelled" and {"churned", "free"} <= view.segments
    assert "pro" not in view.segments


def test_lemonsqueezy_plan_change_from_remembered_variant(rt, receiver, mautic):
    """LemonSqueezy: created (pro) then updated with a new variant (enterprise) is an upgrade; expired is churn."""
    email = "cyd@example.com"

    def ls(event, at, **kw):
        return simulate("lemonsqueezy", event, email=email, secret=LS_SECRET, tiers=LS_TIERS, now=at,
                        user_id="cyd", from_tier=kw.get("frm"), to_tier=kw.get("to"))  # fmt: skip

    for d in (
        ls("subscription_created", T0, to="pro"),
        ls("subscription_updated", T0 + timedelta(minutes=1), to="enterprise"),
    ):
        res = post(receiver, d, "/webhooks/lemonsqueezy")
        assert res.status_code == 200, res.text
        drain(rt)
    view = contact_view(mautic, email)
    assert "enterprise" in view.segments and "onboarding_enterprise" in view.campaigns
    assert (
        post(
            receiver, ls("subscription_expired", T0 + timedelta(minutes=2), frm="enterprise"), "/webhooks/lemonsqueezy"
        ).status_code
        == 200
    )
    drain(rt)
    view = contact_view(mautic, email)
    assert view.fields["subscription_status"] == "cancelled" and "churned" in view.segments


def test_unmapped_price_is_kept_as_dead_delivery(rt, receiver, mautic, tmp_path):
    """A price the tier map lacks: acknowledged, kept as a dead delivery with the reason; no event applied."""
    d = simulate("stripe", "customer.subscription.created", email="d@example.com", from_tier=None, to_tier="pro",
                 secret=STRIPE_SECRET, tiers={"price_unknown": "pro"}, now=datetime.now(UTC), user_id="d")  # fmt: skip
    res = post(receiver, d)
    assert res.status_code == 200 and res.json()["status"] == "dead"
    dead = rt.conn.execute("SELECT reason, body FROM deliveries WHERE outcome = 'dead'").fetchall()
    assert len(dead) == 1 and "price_unknown" in dead[0][0] and json.loads(dead[0][1])["type"]
    assert count_events(rt) == 0
