"""Who a delivery is about, test mode, the product's email, payments once per invoice — on real Stripe
Events of both API generations (fixtures/stripe: 2024-06-20, fixtures/stripe/basil: 2025 basil)."""

from __future__ import annotations

import copy
import json

import pytest

from mautic_ctl.events import EventKind
from mautic_ctl.webhooks import ProviderConfig, lemonsqueezy, stripe
from mautic_ctl.webhooks.state import CUSTOMER, SUBSCRIPTION

BASIL_PRICE = "price_1SAFNkBe0ycHroRBidLX2jgZ"  # the real basil renewal's price
BASIL_CUSTOMER = "cus_T66xzarl5v73XN"


@pytest.fixture
def cfg(stripe_cfg):
    tiers = {**stripe_cfg.tiers, BASIL_PRICE: "pro", "price_1SUyGiHOQNg4XnOMHSqLxNl9": "pro"}
    return ProviderConfig(stripe_cfg.secret, tiers, accept_test_mode=True)


@pytest.fixture
def run(cfg, vocab, state, now, load):
    def _run(what, *, cfg_: ProviderConfig | None = None):
        payload, raw = load("stripe", what) if isinstance(what, str) else (what, json.dumps(what).encode())
        return stripe.normalise(payload, raw, cfg_ or cfg, vocab, state, now=now)

    return _run


def basil(load, name):
    return copy.deepcopy(load("stripe", f"basil/{name}")[0])


# --- both API generations -----------------------------------------------------------------------------


def test_basil_subscription_tier_and_clock_from_the_items(run, load, state):
    """basil: price and current period live on the items; the tier comes from the item's price."""
    state.add_user("u_9", email="u9@example.com", tier="free")
    payload = basil(load, "customer.subscription.updated")
    payload["data"]["object"]["metadata"] = {"user_id": "u_9"}
    event = run(payload).event
    assert (event.kind, event.user_id, event.tier) == (EventKind.PLAN_CHANGE, "u_9", "pro")
    assert event.fields == {"subscription_status": "active"}
    snapshot = state.subscription("stripe", "sub_1SAGUABe0ycHroRBHH0HMWOy")
    assert snapshot.clock == 1758919042  # the item's current_period_start: basil has none on the subscription


def test_basil_renewal_is_ignored_after_its_snapshot(run, load, state):
    """The real basil renewal (only the item's period moved) changes nothing once the snapshot is known."""
    state.add_user("u_9", email="u9@example.com", tier="pro")
    payload = basil(load, "customer.subscription.updated")
    payload["data"]["object"]["metadata"] = {"user_id": "u_9"}
    first = copy.deepcopy(payload)
    first["id"], first["created"] = "evt_1SBLv3Be0ycHroRBFirst001", payload["created"] - 86400
    first["data"]["object"]["items"]["data"][0]["current_period_start"] -= 86400
    assert run(first).outcome == "event"
    assert run(payload).outcome == "ignored"


def test_basil_invoice_payment_succeeded_counts_with_cents(run, load, state):
    """invoice.payment_succeeded (basil: subscription under parent.subscription_details) is a payment."""
    state.add_user("u_7", email="cliente@example.com", tier="pro")
    result = run(basil(load, "invoice.payment_succeeded"))
    assert (result.event.kind, result.event.user_id, result.event.amount) == (EventKind.PAYMENT, "u_7", 29.9)
    assert result.event.event_id == "in_1SVC87HOQNg4XnOMdHAlqDva"


def test_invoice_paid_and_payment_succeeded_share_the_invoice_id(run, load, state):
    """Both event types of one invoice make the same queue event id: the queue counts it once."""
    state.add_user("u_7", email="cliente@example.com", tier="pro")
    succeeded = basil(load, "invoice.payment_succeeded")
    paid = copy.deepcopy(succeeded)
    paid["id"], paid["type"] = "evt_1SVC8JHOQNg4XnOMPaid0001", "invoice.paid"
    assert run(succeeded).event.event_id == run(paid).event.event_id


# --- links ------------------------------------------------------------------------------------------


def test_customer_created_links_email_and_user(run, state):
    """customer.created teaches the customer's email and metadata.user_id, and says so."""
    result = run("customer.created")
    assert result.outcome == "ignored" and result.learned
    link = state.link("stripe", CUSTOMER, "cus_QXvCl1pZ8mNs2b")
    assert link is not None and link.email is not None


def test_checkout_client_reference_id_links_customer_and_subscription(run, load, state):
    """checkout.session.completed: client_reference_id -> user for its customer and subscription."""
    payload = basil(load, "checkout.session.completed")
    payload["data"]["object"]["client_reference_id"] = "u_42"
    result = run(payload)
    assert result.learned and "u_42" in result.ignored
    customer = state.link("stripe", CUSTOMER, "cus_S4TYGWgtRlRUeM")
    assert (customer.user_id, customer.email, customer.via) == ("u_42", "jennyrosen@example.com", "checkout")
    assert state.link("stripe", SUBSCRIPTION, "sub_1RAemoKwyQnTsu7p8SYZkKZN").user_id == "u_42"


def test_stripe_first_subscription_uses_the_checkout_link_and_email(run, load, state):
    """Problem 1: a subscription with only cus_… is a signup once checkout told who and which email."""
    checkout = basil(load, "checkout.session.completed")
    checkout["data"]["object"].update(client_reference_id="u_42", customer=BASIL_CUSTOMER)
    sub = basil(load, "customer.subscription.updated")
    assert run(sub).outcome == "waiting"
    run(checkout)
    event = run(sub).event
    assert (event.kind, event.user_id, event.email, event.tier) == (
        EventKind.SIGNUP,
        "u_42",
        "jennyrosen@example.com",
        "pro",
    )


def test_explicit_id_beats_a_reused_customers_link(run, load, state):
    """Problem 3: a customer remembered for user A, a new subscription with metadata.user_id B: B."""
    state.add_user("a", email="a@example.com", tier="pro")
    state.add_user("b", email="b@example.com", tier="free")
    state.remember_link("stripe", CUSTOMER, BASIL_CUSTOMER, user_id="a", email=None, via="remembered")
    payload = basil(load, "customer.subscription.updated")
    payload["data"]["object"]["metadata"] = {"user_id": "b"}
    assert run(payload).event.user_id == "b"


def test_a_subscription_never_moves_to_another_user(run, load, state):
    """A subscription linked to A, a delivery naming B: dead, naming both ids."""
    state.add_user("a", email="a@example.com", tier="pro")
    state.remember_link("stripe", SUBSCRIPTION, "sub_1SAGUABe0ycHroRBHH0HMWOy", user_id="a", email=None, via="explicit")
    payload = basil(load, "customer.subscription.updated")
    payload["data"]["object"]["metadata"] = {"user_id": "b"}
    result = run(payload)
    assert result.outcome == "dead" and "'a'" in result.dead and "'b'" in result.dead


def test_checkout_after_a_link_checkout_outranks_remembered(run, load, state):
    """A checkout link (client_reference_id) outranks a remembered link of the same customer."""
    state.add_user("old", email="old@example.com", tier="free")
    state.add_user("u_42", email="u42@example.com", tier="free")
    state.remember_link("stripe", CUSTOMER, BASIL_CUSTOMER, user_id="old", email=None, via="remembered")
    checkout = basil(load, "checkout.session.completed")
    checkout["data"]["object"].update(client_reference_id="u_42", customer=BASIL_CUSTOMER, subscription=None)
    run(checkout)
    assert run(basil(load, "customer.subscription.updated")).event.user_id == "u_42"


# --- test mode, the product's email ----------------------------------------------------------------


def test_stripe_test_mode_is_ignored_by_default(run, load):
    """Problem 7: livemode false with the default accept_test_mode = false: ignored, saying why."""
    result = run(basil(load, "customer.subscription.updated"), cfg_=ProviderConfig("s", {BASIL_PRICE: "pro"}))
    assert result.outcome == "ignored" and "test-mode" in result.ignored and "accept_test_mode" in result.ignored


def test_lemonsqueezy_test_mode_is_ignored_by_default(vocab, state, now, load):
    """Problem 7: meta.test_mode true: ignored unless accept_test_mode."""
    payload, raw = load("lemonsqueezy", "subscription_created")
    result = lemonsqueezy.normalise(payload, raw, ProviderConfig("s", {"301111": "basic"}), vocab, state, now=now)
    assert result.outcome == "ignored" and "meta.test_mode" in result.ignored


def test_lemonsqueezy_billing_email_does_not_replace_the_products(ls_cfg, vocab, state, now, load):
    """Problem 6: custom_data.user_id of a user the product knows by another email: no email change."""
    state.add_user("u_2001", email="product@example.com", tier="free")
    payload, raw = load("lemonsqueezy", "subscription_created")
    event = lemonsqueezy.normalise(payload, raw, ls_cfg, vocab, state, now=now).event
    assert event.user_id == "u_2001" and event.email is None


def test_lemonsqueezy_billing_email_wins_when_configured(ls_cfg, vocab, state, now, load):
    """[billing] email_from_billing = true: the payer's email goes to the contact."""
    state.add_user("u_2001", email="product@example.com", tier="free")
    cfg = ProviderConfig(ls_cfg.secret, ls_cfg.tiers, accept_test_mode=True, email_from_billing=True)
    payload, raw = load("lemonsqueezy", "subscription_created")
    assert lemonsqueezy.normalise(payload, raw, cfg, vocab, state, now=now).event.email == "grace@example.com"


def test_lemonsqueezy_order_created_links_the_customer(ls_cfg, vocab, state, now, load):
    """order_created teaches customer -> user (custom_data) and email, for later deliveries."""
    payload, raw = load("lemonsqueezy", "order_created")
    result = lemonsqueezy.normalise(payload, raw, ls_cfg, vocab, state, now=now)
    assert result.learned
    customer = str(payload["data"]["attributes"]["customer_id"])
    assert state.link("lemonsqueezy", CUSTOMER, customer).email == payload["data"]["attributes"]["user_email"]
