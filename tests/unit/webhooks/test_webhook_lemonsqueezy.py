"""LemonSqueezy webhooks (fixture payloads) -> lifecycle events, ignored or dead deliveries."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime

import pytest

from mautic_ctl.errors import InputError
from mautic_ctl.events import CANCELLED, EventKind
from mautic_ctl.webhooks import SubscriptionRecord, lemonsqueezy

SUB = "412345"


@pytest.fixture
def run(ls_cfg, vocab, state, now, load):
    """run(fixture_name or payload) -> Normalised, against the shared state."""

    def _run(what, *, cfg=None):
        if isinstance(what, str):
            payload, raw = load("lemonsqueezy", what)
        else:
            payload, raw = what, json.dumps(what, separators=(",", ":")).encode()
        return lemonsqueezy.normalise(payload, raw, cfg or ls_cfg, vocab, state, now=now)

    return _run


def fixture(load, name):
    return copy.deepcopy(load("lemonsqueezy", name)[0])


def remember(state, variant="301111", tier="basic", status="active", at="2025-01-01T10:00:05Z"):
    """Pretend an earlier delivery of the subscription was recorded."""
    when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    state.remember_subscription("lemonsqueezy", SUB, SubscriptionRecord(variant, tier, status, when))


# --- created / who ------------------------------------------------------------------------------


def test_created_with_custom_user_id_for_unknown_user_is_signup(run):
    """custom_data.user_id names the user; unknown to the mirror and with an email: a signup."""
    result = run("subscription_created")
    event = result.event
    assert (event.kind, event.user_id, event.email, event.tier) == (
        EventKind.SIGNUP,
        "u_2001",
        "grace@example.com",
        "basic",
    )
    assert (event.first_name, event.last_name) == ("Grace", "Hopper")
    assert event.fields == {"subscription_status": "active"}


def test_event_id_source_and_occurred_at(run, load):
    """event_id is ls-<sha256 of the raw body>, source "lemonsqueezy", occurred_at updated_at."""
    _, raw = load("lemonsqueezy", "subscription_created")
    event = run("subscription_created").event
    assert event.event_id == "ls-" + hashlib.sha256(raw.strip()).hexdigest()
    assert event.source == "lemonsqueezy"
    assert event.occurred_at == datetime(2025, 1, 1, 10, 0, 5, tzinfo=UTC)


def test_created_for_known_free_user_is_plan_change(run, state):
    """A user the mirror has on free: plan_change free -> basic."""
    state.add_user("u_2001", tier="free")
    event = run("subscription_created").event
    assert (event.kind, event.from_tier, event.tier) == (EventKind.PLAN_CHANGE, "free", "basic")


def test_created_email_only_finds_known_user(run, state):
    """Without custom_data, the known user with user_email is the one."""
    state.add_user("u_by_email", email="Grace@Example.com", tier="free")
    event = run("subscription_created_email_only").event
    assert (event.user_id, event.kind, event.tier) == ("u_by_email", EventKind.PLAN_CHANGE, "basic")


def test_created_email_only_unknown_user_waits(run, state):
    """Email only, and no product user has it: it waits for a link, with the reason (never dropped)."""
    result = run("subscription_created_email_only")
    assert result.outcome == "waiting"
    assert "no product user has the email grace@example.com" in result.waiting
    assert "custom_data.user_id" in result.waiting
    assert state.subscriptions == {}


def test_custom_user_id_wins_over_email(run, state):
    """custom_data.user_id is preferred over a user known by the email."""
    state.add_user("u_by_email", email="grace@example.com")
    assert run("subscription_created").event.user_id == "u_2001"


def test_customer_mapping_remembered_and_used(run, state, load):
    """The customer -> user mapping learnt from one delivery finds the user of a later one."""
    run("subscription_created")
    assert state.link("lemonsqueezy", "customer", "2789345").user_id == "u_2001"
    payload = fixture(load, "subscription_payment_success")
    del payload["meta"]["custom_data"]
    payload["data"]["attributes"]["user_email"] = "changed@example.com"
    assert run(payload).event.user_id == "u_2001"


def test_numeric_custom_user_id_is_text(run, load):
    """custom_data.user_id sent as a number becomes the text id."""
    payload = fixture(load, "subscription_created")
    payload["meta"]["custom_data"]["user_id"] = 2001
    assert run(payload).event.user_id == "2001"


# --- plan changes derived from the remembered variant ---------------------------------------


def test_updated_plan_change_derived_from_remembered_variant(run, state):
    """subscription_updated with a new variant: old tier from the remembered variant (basic -> pro)."""
    remember(state)
    event = run("subscription_updated").event
    assert (event.kind, event.from_tier, event.tier) == (EventKind.PLAN_CHANGE, "basic", "pro")
    assert event.occurred_at == datetime(2025, 1, 10, 9, 30, tzinfo=UTC)


def test_created_then_updated_sequence(run, state):
    """created remembers the variant, so the following update is basic -> pro."""
    run("subscription_created")
    assert state.subscription("lemonsqueezy", SUB).variant == "301111"
    event = run("subscription_updated").event
    assert (event.from_tier, event.tier) == ("basic", "pro")
    record = state.subscription("lemonsqueezy", SUB)
    assert (record.variant, record.tier, record.status) == ("301222", "pro", "active")


def test_updated_without_memory_uses_known_tier(run, state):
    """No remembered subscription: the mirror's tier is the old one."""
    state.add_user("u_2001", tier="basic")
    event = run("subscription_updated").event
    assert (event.from_tier, event.tier) == ("basic", "pro")


def test_updated_same_variant_and_status_is_ignored(run, state):
    """A subscription_updated that changes neither tier nor status (e.g. renewal dates) is ignored."""
    remember(state, "301222", "pro", "active")
    result = run("subscription_updated")
    assert result.outcome == "ignored" and "changed nothing" in result.ignored


def test_updated_status_past_due_is_status_sync(run, state, load):
    """A status change without a variant change only updates subscription_status."""
    remember(state, "301222", "pro", "active")
    payload = fixture(load, "subscription_updated")
    payload["data"]["attributes"]["status"] = "past_due"
    event = run(payload).event
    assert (event.kind, event.fields) == (EventKind.SYNC_CONTACT, {"subscription_status": "past_due"})


def test_stale_delivery_is_superseded_and_not_remembered(run, state):
    """A delivery older than the remembered snapshot is superseded by it, memory kept."""
    remember(state, "301111", "basic", "active", at="2025-02-01T00:00:00Z")
    result = run("subscription_updated")
    assert result.outcome == "superseded" and "older" in result.superseded
    assert state.subscription("lemonsqueezy", SUB).variant == "301111"


def test_product_id_mapping(run, state, load):
    """A variant not in the map falls back to its product id."""
    state.add_user("u_2001", tier="pro")
    payload = fixture(load, "subscription_updated")
    payload["data"]["attributes"].update(variant_id=309999, product_id=201999)
    event = run(payload).event
    assert (event.from_tier, event.tier) == ("pro", "enterprise")


def test_unknown_variant_is_dead_naming_the_key(run, load, state):
    """A variant (and product) the map does not know: dead, naming the id and [lemonsqueezy.tiers]."""
    payload = fixture(load, "subscription_updated")
    payload["data"]["attributes"].update(variant_id=399999, variant_name="Team (yearly)")
    result = run(payload)
    assert result.outcome == "dead"
    assert "variant 399999" in result.dead and '"399999" = "<tier>"' in result.dead
    assert "[lemonsqueezy.tiers]" in result.dead
    assert state.subscriptions == {}


# --- cancellation, expiry, resumption, pauses --------------------------------------------------


def test_cancelled_is_scheduled_cancellation_not_churn(run, state):
    """subscription_cancelled (active until ends_at): subscription_status cancel_scheduled only."""
    remember(state, "301222", "pro", "active")
    event = run("subscription_cancelled").event
    assert (event.kind, event.fields) == (EventKind.SYNC_CONTACT, {"subscription_status": "cancel_scheduled"})


def test_expired_is_churn(run, state):
    """subscription_expired: plan_change to cancelled from the remembered tier."""
    remember(state, "301222", "pro", "cancelled")
    event = run("subscription_expired").event
    assert (event.kind, event.tier, event.from_tier) == (EventKind.PLAN_CHANGE, CANCELLED, "pro")
    assert event.fields == {"subscription_status": "cancelled"}


def test_expired_without_memory_is_churn_from_its_tier(run):
    """Even with nothing remembered, expiry is a cancellation from the subscription's tier."""
    event = run("subscription_expired").event
    assert (event.tier, event.from_tier) == (CANCELLED, "pro")


def test_updated_after_expired_is_not_a_second_churn(run, state, load):
    """The subscription_updated twin of an expiry finds nothing new: the churn is recorded once."""
    remember(state, "301222", "pro", "cancelled")
    assert run("subscription_expired").event.tier == CANCELLED
    twin = fixture(load, "subscription_expired")
    twin["meta"]["event_name"] = "subscription_updated"
    assert run(twin).outcome == "ignored"


def test_resumed_after_cancellation_is_plan_change_back(run, state):
    """subscription_resumed after a cancellation: plan_change back to the tier, status active."""
    remember(state, "301222", "pro", "cancelled", at="2025-01-20T16:00:00Z")
    event = run("subscription_resumed").event
    assert (event.kind, event.tier, event.fields) == (
        EventKind.PLAN_CHANGE,
        "pro",
        {"subscription_status": "active"},
    )


def test_resumed_after_expiry_is_reactivation_from_cancelled(run, state, load):
    """A subscription resumed after it expired comes back from "cancelled" (a reactivation)."""
    remember(state, "301222", "pro", "expired", at="2025-01-20T16:00:00Z")
    event = run("subscription_resumed").event
    assert (event.from_tier, event.tier) == (CANCELLED, "pro")


def test_paused_is_status_sync(run, state):
    """subscription_paused: subscription_status paused."""
    remember(state, "301222", "pro", "active")
    event = run("subscription_paused").event
    assert (event.kind, event.fields) == (EventKind.SYNC_CONTACT, {"subscription_status": "paused"})


def test_unpaused_is_plan_change_back_to_tier(run, state):
    """subscription_unpaused: plan_change back to the tier with status active."""
    remember(state, "301222", "pro", "paused", at="2025-01-15T12:00:00Z")
    event = run("subscription_unpaused").event
    assert (event.kind, event.tier, event.from_tier, event.fields) == (
        EventKind.PLAN_CHANGE,
        "pro",
        "pro",
        {"subscription_status": "active"},
    )


def test_on_trial_status_is_trialing(run, load):
    """LemonSqueezy's on_trial is written as trialing."""
    payload = fixture(load, "subscription_created")
    payload["data"]["attributes"]["status"] = "on_trial"
    assert run(payload).event.fields == {"subscription_status": "trialing"}


# --- payments and others -------------------------------------------------------------------------


def test_payment_success_is_payment_in_major_units(run):
    """subscription_payment_success: a payment of total / 100 (1900 cents -> 19.0)."""
    event = run("subscription_payment_success").event
    assert (event.kind, event.user_id, event.amount) == (EventKind.PAYMENT, "u_2001", 19.0)
    assert event.occurred_at == datetime(2025, 2, 1, 10, 0, 4, tzinfo=UTC)


def test_payment_with_zero_total_is_ignored(run, load):
    """A zero invoice adds nothing to lifetime_value."""
    payload = fixture(load, "subscription_payment_success")
    payload["data"]["attributes"]["total"] = 0
    assert run(payload).outcome == "ignored"


def test_payment_without_total_is_dead(run, load):
    """A payment without a total cannot be counted: dead with the reason."""
    payload = fixture(load, "subscription_payment_success")
    del payload["data"]["attributes"]["total"]
    assert "total" in run(payload).dead


def test_unknown_event_is_ignored(run):
    """order_created is acknowledged and recorded as ignored."""
    result = run("order_created")
    assert result.outcome == "ignored" and "order_created" in result.ignored


# --- dedupe key ------------------------------------------------------------------------------


def test_dedupe_key_stable_for_same_body(load):
    """The same body always gives the same key (a redelivery is recognised)."""
    _, raw = load("lemonsqueezy", "subscription_created")
    assert lemonsqueezy.delivery_id(raw) == lemonsqueezy.delivery_id(bytes(raw))
    assert lemonsqueezy.delivery_id(raw) == lemonsqueezy.delivery_id(raw.strip() + b"\r\n")


def test_dedupe_key_differs_for_different_body(load):
    """Two different bodies (even one byte apart) give different keys."""
    _, a = load("lemonsqueezy", "subscription_created")
    _, b = load("lemonsqueezy", "subscription_updated")
    assert lemonsqueezy.delivery_id(a) != lemonsqueezy.delivery_id(b)
    assert lemonsqueezy.delivery_id(a) != lemonsqueezy.delivery_id(a.replace(b"10:00:05", b"10:00:06"))


@pytest.mark.parametrize("payload", [[], "x", 5, {"meta": {}}, {"meta": {"event_name": 3}}, {"data": {}}])
def test_not_a_lemonsqueezy_webhook_raises_input_error(payload, ls_cfg, vocab, state, now):
    """A body that is not a LemonSqueezy webhook at all: InputError (HTTP 400)."""
    with pytest.raises(InputError):
        lemonsqueezy.normalise(payload, json.dumps(payload).encode(), ls_cfg, vocab, state, now=now)


def test_subscription_without_status_is_dead(run, load):
    """A subscription event with no status cannot be interpreted: dead."""
    payload = fixture(load, "subscription_updated")
    del payload["data"]["attributes"]["status"]
    assert run(payload).outcome == "dead"


def test_created_after_its_updated_twin_is_recorded_once(run, load):
    """LemonSqueezy also sends subscription_updated at creation; whichever comes second is ignored."""
    twin = fixture(load, "subscription_created")
    twin["meta"]["event_name"] = "subscription_updated"
    assert run(twin).event.kind is EventKind.SIGNUP
    result = run("subscription_created")
    assert result.outcome == "ignored"
