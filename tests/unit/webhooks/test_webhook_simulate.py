"""`simulate`: realistic signed deliveries that verify and normalise back to the requested transition."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mautic_ctl.errors import InputError
from mautic_ctl.events import CANCELLED, EventKind
from mautic_ctl.webhooks import (
    MemoryBillingState,
    ProviderConfig,
    normalise_delivery,
    simulate,
    verify_lemonsqueezy,
    verify_signature,
    verify_stripe,
)

EMAIL = "ada@example.com"


@pytest.fixture
def known_state():
    state = MemoryBillingState()
    state.add_user("u_1", email=EMAIL, tier="basic")
    return state


def roundtrip(provider, event, cfg, vocab, state, now, *, frm=None, to=None, **kw):
    """Simulate, verify with the same secret, then normalise: the Normalised result."""
    delivery = simulate(
        provider, event, email=EMAIL, from_tier=frm, to_tier=to, secret=cfg.secret, tiers=cfg.tiers, now=now, **kw
    )
    verify_signature(provider, delivery.body, delivery.signature, cfg, now=now.timestamp())
    payload = json.loads(delivery.body)
    return normalise_delivery(provider, payload, delivery.body, {provider: cfg}, vocab, state, now)


@pytest.mark.parametrize(
    ("event", "frm", "to", "expected"),
    [
        ("customer.subscription.created", None, "pro", (EventKind.PLAN_CHANGE, "basic", "pro")),
        ("customer.subscription.updated", "basic", "pro", (EventKind.PLAN_CHANGE, "basic", "pro")),
        ("customer.subscription.updated", "enterprise", "basic", (EventKind.PLAN_CHANGE, "enterprise", "basic")),
        ("customer.subscription.deleted", "pro", CANCELLED, (EventKind.PLAN_CHANGE, "pro", CANCELLED)),
        ("invoice.paid", None, "pro", (EventKind.PAYMENT, None, None)),
    ],
)
def test_stripe_simulation_normalises_to_requested_transition(
    event, frm, to, expected, stripe_cfg, vocab, known_state, now
):
    """Every simulated Stripe event verifies and normalises to the requested transition."""
    result = roundtrip("stripe", event, stripe_cfg, vocab, known_state, now, frm=frm, to=to)
    assert (result.event.kind, result.event.from_tier, result.event.tier) == expected
    # a payment's queue event id is its invoice's id (counted once across invoice.paid/payment_succeeded)
    assert result.event.user_id == "u_1" and result.event.event_id.startswith(
        "in_1" if event == "invoice.paid" else "evt_1"
    )


def test_stripe_simulated_payment_amount(stripe_cfg, vocab, known_state, now):
    """The simulated invoice carries the amount in cents; it normalises back to major units."""
    result = roundtrip("stripe", "invoice.paid", stripe_cfg, vocab, known_state, now, amount=19.99)
    assert result.event.amount == 19.99


def test_stripe_simulation_signup_with_user_id(stripe_cfg, vocab, now):
    """With a user id for a stranger, subscription.created normalises to a signup (email in metadata)."""
    result = roundtrip(
        "stripe", "customer.subscription.created", stripe_cfg, vocab, MemoryBillingState(), now, to="pro", user_id="u_9"
    )
    assert (result.event.kind, result.event.user_id, result.event.tier) == (EventKind.SIGNUP, "u_9", "pro")


@pytest.mark.parametrize("key", ["price_1PgWzZLkdIwHu7ixBasicMo", "basic_monthly", "prod_QXv9BasicPlan1"])
def test_stripe_tier_map_inverted_through_any_key_kind(key, vocab, known_state, now):
    """A tier mapped by price id, lookup_key or product id all simulate a price that maps back to it."""
    cfg = ProviderConfig("whsec_x", {key: "pro"})
    result = roundtrip("stripe", "customer.subscription.created", cfg, vocab, known_state, now, to="pro")
    assert result.event.tier == "pro"


def test_lemonsqueezy_simulated_lifecycle_normalises_step_by_step(ls_cfg, vocab, known_state, now):
    """created -> updated -> cancelled -> resumed -> expired -> payment, one subscription, as requested."""
    steps = [
        ("subscription_created", None, "basic", (EventKind.PLAN_CHANGE, "basic", "basic")),
        ("subscription_updated", "basic", "pro", (EventKind.PLAN_CHANGE, "basic", "pro")),
        ("subscription_cancelled", "pro", None, (EventKind.SYNC_CONTACT, None, None)),
        ("subscription_resumed", None, "pro", (EventKind.PLAN_CHANGE, "pro", "pro")),
        ("subscription_paused", "pro", None, (EventKind.SYNC_CONTACT, None, None)),
        ("subscription_unpaused", None, "pro", (EventKind.PLAN_CHANGE, "pro", "pro")),
        ("subscription_expired", "pro", CANCELLED, (EventKind.PLAN_CHANGE, "pro", CANCELLED)),
        ("subscription_payment_success", None, "pro", (EventKind.PAYMENT, None, None)),
    ]
    statuses = []
    for minute, (event, frm, to, expected) in enumerate(steps):
        at = now + timedelta(minutes=minute)
        result = roundtrip("lemonsqueezy", event, ls_cfg, vocab, known_state, at, frm=frm, to=to)
        assert (result.event.kind, result.event.from_tier, result.event.tier) == expected, event
        assert result.event.event_id.startswith("ls-")
        statuses.append(result.event.fields.get("subscription_status"))
    assert statuses[2] == "cancel_scheduled" and statuses[4] == "paused"


def test_unsigned_without_secret(stripe_cfg, ls_cfg, now):
    """Without a secret the delivery carries no signature header."""
    for provider, cfg, event in [
        ("stripe", stripe_cfg, "invoice.paid"),
        ("lemonsqueezy", ls_cfg, "subscription_payment_success"),
    ]:
        delivery = simulate(
            provider, event, email=EMAIL, from_tier=None, to_tier=None, secret=None, tiers=cfg.tiers, now=now
        )
        assert delivery.signature is None


def test_signatures_are_the_providers_schemes(stripe_cfg, ls_cfg, now):
    """The headers verify with the plain verifiers: Stripe-Signature with t=now, X-Signature over the body."""
    s = simulate(
        "stripe",
        "invoice.paid",
        email=EMAIL,
        from_tier=None,
        to_tier="pro",
        secret="whsec_a",
        tiers=stripe_cfg.tiers,
        now=now,
    )
    assert verify_stripe(s.body, s.headers["Stripe-Signature"], "whsec_a", now=now.timestamp()) == int(now.timestamp())
    ls = simulate(
        "lemonsqueezy",
        "subscription_created",
        email=EMAIL,
        from_tier=None,
        to_tier="pro",
        secret="k",
        tiers=ls_cfg.tiers,
        now=now,
    )
    verify_lemonsqueezy(ls.body, ls.headers["X-Signature"], "k")
    assert ls.headers["X-Event-Name"] == "subscription_created"


def test_deterministic_ids(stripe_cfg, now):
    """The same call gives the same delivery; another time gives another event id, same customer."""

    def make(at):
        d = simulate(
            "stripe",
            "customer.subscription.created",
            email=EMAIL,
            from_tier=None,
            to_tier="pro",
            secret="s",
            tiers=stripe_cfg.tiers,
            now=at,
        )
        return json.loads(d.body)

    a, b, c = make(now), make(now), make(now + timedelta(seconds=1))
    assert a == b
    assert a["id"] != c["id"]
    assert a["data"]["object"]["customer"] == c["data"]["object"]["customer"]
    assert a["data"]["object"]["id"].startswith("sub_") and a["data"]["object"]["customer"].startswith("cus_")


def test_payload_shapes_are_realistic(stripe_cfg, ls_cfg, now):
    """Simulated payloads have the documented top-level shapes of each provider."""
    s = json.loads(
        simulate(
            "stripe",
            "customer.subscription.updated",
            email=EMAIL,
            from_tier="basic",
            to_tier="pro",
            secret=None,
            tiers=stripe_cfg.tiers,
            now=now,
        ).body
    )
    assert {"id", "object", "api_version", "created", "data", "livemode", "type"} <= set(s)
    assert s["data"]["object"]["items"]["data"][0]["price"]["object"] == "price"
    assert "items" in s["data"]["previous_attributes"]
    ls = json.loads(
        simulate(
            "lemonsqueezy",
            "subscription_updated",
            email=EMAIL,
            from_tier=None,
            to_tier="pro",
            secret=None,
            tiers=ls_cfg.tiers,
            now=now,
        ).body
    )
    assert ls["data"]["type"] == "subscriptions"
    assert {"store_id", "customer_id", "variant_id", "user_email", "status", "updated_at"} <= set(
        ls["data"]["attributes"]
    )
    assert ls["meta"]["event_name"] == "subscription_updated"


@pytest.mark.parametrize(
    ("provider", "event", "frm", "to", "message"),
    [
        ("stripe", "charge.refunded", None, "pro", "cannot simulate stripe event"),
        ("lemonsqueezy", "order_created", None, "pro", "cannot simulate lemonsqueezy event"),
        ("paddle", "x", None, "pro", "unknown billing provider"),
        ("stripe", "customer.subscription.created", None, None, "give it with --to"),
        ("stripe", "customer.subscription.updated", "pro", "pro", "a tier other than --to"),
        ("stripe", "customer.subscription.deleted", None, CANCELLED, "give it with --from"),
        ("stripe", "customer.subscription.created", None, "free", "no [stripe.tiers] entry maps to tier 'free'"),
        ("lemonsqueezy", "subscription_created", None, "free", "no [lemonsqueezy.tiers] entry maps"),
    ],
)
def test_simulate_refuses_what_it_cannot_build(provider, event, frm, to, message, stripe_cfg, now):
    """Unknown events, missing tiers and unmapped tiers are InputErrors saying what to do."""
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        simulate(provider, event, email=EMAIL, from_tier=frm, to_tier=to, secret=None, tiers=stripe_cfg.tiers, now=now)


def test_simulate_validates_email(stripe_cfg, now):
    """The email must be one Mautic accepts."""
    with pytest.raises(InputError, match="not a valid email"):
        simulate(
            "stripe",
            "invoice.paid",
            email="nope",
            from_tier=None,
            to_tier=None,
            secret=None,
            tiers=stripe_cfg.tiers,
            now=now,
        )
