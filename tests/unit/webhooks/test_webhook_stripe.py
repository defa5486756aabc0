"""Stripe Events (fixture payloads) -> lifecycle events, ignored or dead deliveries."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from mautic_ctl.errors import InputError
from mautic_ctl.events import CANCELLED, EventKind, Vocabulary
from mautic_ctl.webhooks import ProviderConfig, stripe

CREATED_AT = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)  # `created` of the subscription.created fixture


@pytest.fixture
def run(stripe_cfg, vocab, state, now, load):
    """run(fixture_name or payload, cfg=…, vocab=…) -> Normalised, against the shared state."""

    def _run(what, *, cfg: ProviderConfig | None = None, vocab_: Vocabulary | None = None):
        payload, raw = load("stripe", what) if isinstance(what, str) else (what, json.dumps(what).encode())
        return stripe.normalise(payload, raw, cfg or stripe_cfg, vocab_ or vocab, state, now=now)

    return _run


def fixture(load, name):
    return copy.deepcopy(load("stripe", name)[0])


# --- subscription created -----------------------------------------------------------------------


def test_created_for_known_free_user_is_plan_change_into_mapped_tier(run, state):
    """subscription.created for a user the mirror has on free: plan_change free -> basic (by price id)."""
    state.add_user("u_1001", tier="free")
    result = run("customer.subscription.created")
    event = result.event
    assert result.outcome == "event"
    assert (event.kind, event.user_id, event.tier, event.from_tier) == (
        EventKind.PLAN_CHANGE,
        "u_1001",
        "basic",
        "free",
    )
    assert event.fields == {"subscription_status": "active"}


def test_created_sets_event_id_source_and_occurred_at_from_the_event(run, state):
    """The event id is Stripe's evt_ id, source "stripe", occurred_at Stripe's `created`."""
    state.add_user("u_1001", tier="free")
    result = run("customer.subscription.created")
    assert result.delivery_id == result.event.event_id == "evt_1PgX21LkdIwHu7ixCreated01"
    assert result.event.source == "stripe" == result.provider
    assert result.event.occurred_at == CREATED_AT == result.occurred_at
    assert result.event_type == "customer.subscription.created"


def test_created_for_unknown_user_with_email_is_signup(run, load):
    """A user our mirror never saw, with an email in the payload (expanded customer): a signup."""
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["customer"] = {
        "id": "cus_QXvCl1pZ8mNs2b",
        "object": "customer",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
    }
    event = run(payload).event
    assert (event.kind, event.user_id, event.email, event.tier) == (
        EventKind.SIGNUP,
        "u_1001",
        "ada@example.com",
        "basic",
    )
    assert (event.first_name, event.last_name) == ("Ada", "Lovelace")


def test_created_for_cancelled_user_carries_from_cancelled(run, state):
    """A churned user subscribing again: from "cancelled", which the rules treat as reactivation."""
    state.add_user("u_1001", tier=CANCELLED)
    event = run("customer.subscription.created").event
    assert (event.tier, event.from_tier) == ("basic", CANCELLED)


def test_created_trialing_status_is_written(run, state, load):
    """A trial subscription enters the tier with subscription_status "trialing"."""
    state.add_user("u_1001", tier="free")
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["status"] = "trialing"
    assert run(payload).event.fields == {"subscription_status": "trialing"}


# --- who -------------------------------------------------------------------------------------------


# --- tier mapping -----------------------------------------------------------------------------------


def test_tier_by_lookup_key(run, state):
    """The pro price is mapped only through its lookup_key "pro_monthly"."""
    state.add_user("u_1001", tier="basic")
    assert run("customer.subscription.updated.upgrade").event.tier == "pro"


def test_tier_by_product_id(run, state):
    """The enterprise price is mapped only through its product id."""
    state.add_user("u_1001", tier="pro")
    assert run("customer.subscription.updated.legacy_plan").event.tier == "enterprise"


def test_highest_mapped_tier_of_several_items_wins(run, load, state):
    """A subscription with an unmapped add-on price and a tier price takes the tier price's tier."""
    state.add_user("u_1001", tier="free")
    payload = fixture(load, "customer.subscription.created")
    items = payload["data"]["object"]["items"]["data"]
    addon = copy.deepcopy(items[0])
    addon["price"] = {"id": "price_seats", "object": "price", "lookup_key": None, "product": "prod_seats"}
    pro = copy.deepcopy(items[0])
    pro["price"] = {"id": "price_x", "object": "price", "lookup_key": "pro_monthly", "product": "prod_y"}
    payload["data"]["object"]["items"]["data"] = [addon, items[0], pro]
    assert run(payload).event.tier == "pro"


def test_unknown_price_is_dead_naming_the_id_and_config_key(run, load):
    """A price the tier map does not know: dead, naming the price id and [stripe.tiers]."""
    payload = fixture(load, "customer.subscription.created")
    price = payload["data"]["object"]["items"]["data"][0]["price"]
    price.update(id="price_1NewUnmapped000000000", lookup_key="team_yearly", product="prod_Team00000001")
    result = run(payload)
    assert result.outcome == "dead"
    assert "price price_1NewUnmapped000000000 (lookup_key 'team_yearly', product prod_Team00000001)" in result.dead
    assert "[stripe.tiers]" in result.dead


# --- subscription updated --------------------------------------------------------------------------


def test_updated_unmapped_old_price_falls_back_to_known_tier(run, load, state):
    """When the old price is not in the map, the mirror's tier stands in as from_tier."""
    state.add_user("u_1001", tier="free")
    payload = fixture(load, "customer.subscription.updated.upgrade")
    payload["data"]["previous_attributes"] = {"plan": {"id": "price_legacy_unknown", "product": "prod_gone"}}
    event = run(payload).event
    assert (event.from_tier, event.tier) == ("free", "pro")


def test_updated_from_incomplete_to_active_enters_the_tier(run, load, state):
    """The first payment confirmed (incomplete -> active): the subscription starts now."""
    state.add_user("u_1001", tier="free")
    payload = fixture(load, "customer.subscription.updated.past_due")
    payload["data"]["object"]["status"] = "active"
    payload["data"]["previous_attributes"] = {"status": "incomplete"}
    event = run(payload).event
    assert (event.kind, event.from_tier, event.tier) == (EventKind.PLAN_CHANGE, "free", "pro")


# --- subscription deleted / invoice paid / others ----------------------------------------------------


def test_deleted_incomplete_expired_is_ignored(run, load):
    """A subscription that never started (incomplete_expired) ending is not churn."""
    payload = fixture(load, "customer.subscription.deleted")
    payload["data"]["object"]["status"] = "incomplete_expired"
    assert run(payload).outcome == "ignored"


def test_invoice_paid_user_from_subscription_details_metadata(run):
    """With no known email, the invoice's subscription_details.metadata.user_id finds the user."""
    assert run("invoice.paid").event.user_id == "u_1001"


def test_invoice_paid_user_from_parent_subscription_details(run, load):
    """Newer API versions move subscription metadata under parent.subscription_details."""
    payload = fixture(load, "invoice.paid")
    obj = payload["data"]["object"]
    obj["parent"] = {"subscription_details": obj.pop("subscription_details"), "type": "subscription_details"}
    assert run(payload).event.user_id == "u_1001"


def test_invoice_paid_zero_decimal_currency(run, load):
    """JPY amounts are already in major units."""
    payload = fixture(load, "invoice.paid")
    payload["data"]["object"].update(currency="jpy", amount_paid=5000)
    assert run(payload).event.amount == 5000


def test_invoice_paid_zero_amount_is_ignored(run, load):
    """A 0 invoice (trial start) adds nothing to lifetime_value."""
    payload = fixture(load, "invoice.paid")
    payload["data"]["object"]["amount_paid"] = 0
    assert run(payload).outcome == "ignored"


def test_unknown_event_type_is_ignored(run):
    """An event type we do not track is acknowledged and recorded as ignored."""
    result = run("customer.created")
    assert result.outcome == "ignored"
    assert result.delivery_id == "evt_1PgX1xLkdIwHu7ixCustomer1"
    assert "customer.created" in result.ignored


def test_missing_data_object_is_dead(run, load):
    """A handled type without data.object cannot be understood: dead, never dropped."""
    payload = fixture(load, "customer.subscription.created")
    payload["data"] = {}
    assert run(payload).outcome == "dead"


@pytest.mark.parametrize(
    "payload", [[], "x", {"type": "invoice.paid"}, {"id": "not-an-event", "type": "x"}, {"id": "evt_1", "type": 5}]
)
def test_not_a_stripe_event_raises_input_error(payload, stripe_cfg, vocab, state, now):
    """A body that is not a Stripe Event at all has no key to record: InputError (HTTP 400)."""
    with pytest.raises(InputError):
        stripe.normalise(payload, json.dumps(payload).encode(), stripe_cfg, vocab, state, now=now)


def test_invoice_paid_absurd_amount_is_dead_not_crash(run, load):
    """An amount too large to be real is not counted: dead with the reason."""
    payload = fixture(load, "invoice.paid")
    payload["data"]["object"]["amount_paid"] = 10**400
    assert "amount_paid" in run(payload).dead


# --- who (see also test_webhook_identity) ------------------------------------------------------------


def test_created_for_unknown_user_without_email_waits(run):
    """metadata.user_id of a user nobody knows, and no email to create the contact with: it waits."""
    result = run("customer.subscription.created")
    assert result.outcome == "waiting" and "no email is known" in result.waiting


def test_created_incomplete_is_ignored(run, load, state):
    """A subscription whose first payment is not confirmed yet changes no tier."""
    state.add_user("u_1001", email="ada@example.com", tier="free")
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["status"] = "incomplete"
    result = run(payload)
    assert result.outcome == "ignored" and "first payment" in result.ignored


def test_metadata_user_id_wins_over_email_and_customer_link(run, state, load):
    """Explicit metadata.user_id beats a remembered customer link and a user known by the email."""
    state.add_user("u_by_email", email="ada@example.com", tier="free")
    state.add_user("u_1001", email="u1001@example.com", tier="free")
    state.remember_link(
        "stripe", "customer", "cus_QXvCl1pZ8mNs2b", user_id="u_by_customer", email=None, via="remembered"
    )
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["customer"] = {"id": "cus_QXvCl1pZ8mNs2b", "email": "ADA@example.com"}
    assert run(payload).event.user_id == "u_1001"


def test_customer_link_wins_over_email(run, state, load):
    """Without an explicit id, the remembered customer link wins over a user known by the email."""
    state.add_user("u_by_email", email="ada@example.com", tier="free")
    state.add_user("u_by_customer", email="c@example.com", tier="free")
    state.remember_link(
        "stripe", "customer", "cus_QXvCl1pZ8mNs2b", user_id="u_by_customer", email=None, via="remembered"
    )
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["metadata"] = {}
    payload["data"]["object"]["customer"] = {"id": "cus_QXvCl1pZ8mNs2b", "email": "ada@example.com"}
    assert run(payload).event.user_id == "u_by_customer"


def test_customer_and_subscription_links_are_remembered(run, state):
    """Resolving a user through metadata.user_id remembers customer and subscription -> user."""
    state.add_user("u_1001", email="ada@example.com", tier="free")
    run("customer.subscription.created")
    assert state.link("stripe", "customer", "cus_QXvCl1pZ8mNs2b").user_id == "u_1001"
    assert state.link("stripe", "subscription", "sub_1PgX1zLkdIwHu7ixQ8bM0xYz").user_id == "u_1001"


def test_no_user_found_waits_with_reason(run, load, state):
    """No email, no link, no metadata.user_id: waiting with the reason, never dropped."""
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["metadata"] = {}
    result = run(payload)
    assert result.outcome == "waiting"
    assert "no product user is linked to Stripe customer cus_QXvCl1pZ8mNs2b" in result.waiting
    assert "metadata.user_id" in result.waiting and "checkout.session.completed" in result.waiting
    assert state.links == {} and state.subscriptions == {}


def test_unknown_email_is_named_in_the_waiting_reason(run, load):
    """When the payload has an email no user has, the reason says so."""
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["metadata"] = {"email": "nobody@example.com"}
    assert "no product user has the email nobody@example.com" in run(payload).waiting


def test_invalid_user_id_in_metadata_is_not_an_id(run, load):
    """A metadata.user_id our validator refuses is no id at all: the delivery waits, no crash."""
    payload = fixture(load, "customer.subscription.created")
    payload["data"]["object"]["metadata"] = {"user_id": "has spaces"}
    assert run(payload).outcome == "waiting"


def test_price_id_wins_over_lookup_key_and_product(run, state):
    """When several keys of one price are mapped, the price id decides."""
    state.add_user("u_1001", email="ada@example.com", tier="free")
    cfg = ProviderConfig(
        "s", {"price_1PgX0aLkdIwHu7ixProMonth": "enterprise", "pro_monthly": "pro"}, accept_test_mode=True
    )
    assert run("customer.subscription.updated.upgrade", cfg=cfg).event.tier == "enterprise"


def test_tier_outside_the_vocabulary_is_dead(run, state):
    """A tier map value that is not a configured tier makes the event invalid: dead with the reason."""
    state.add_user("u_1001", email="ada@example.com", tier="free")
    cfg = ProviderConfig("s", {"price_1PgWzZLkdIwHu7ixBasicMo": "platinum"}, accept_test_mode=True)
    result = run("customer.subscription.created", cfg=cfg)
    assert result.outcome == "dead" and "unknown tier 'platinum'" in result.dead


# --- subscription updated: a snapshot ----------------------------------------------------------------


@pytest.fixture
def known(state):
    state.add_user("u_1001", email="ada@example.com", tier="basic")
    return state


def test_updated_names_the_old_plan_from_previous_items(run, known):
    """previous_attributes.items.data[].price names where it came from: basic -> pro."""
    event = run("customer.subscription.updated.upgrade").event
    assert (event.kind, event.from_tier, event.tier) == (EventKind.PLAN_CHANGE, "basic", "pro")
    assert event.occurred_at == datetime(2025, 1, 1, 11, 0, tzinfo=UTC)


def test_updated_names_the_old_plan_from_legacy_plan(run, known):
    """previous_attributes.plan (legacy) names the old tier: basic -> enterprise."""
    event = run("customer.subscription.updated.legacy_plan").event
    assert (event.kind, event.from_tier, event.tier) == (EventKind.PLAN_CHANGE, "basic", "enterprise")


def test_updated_downgrade_is_a_plan_change_too(run, load, known):
    """pro -> basic is a plan change from pro to basic; the rules call it a downgrade."""
    payload = fixture(load, "customer.subscription.updated.upgrade")
    obj, prev = payload["data"]["object"], payload["data"]["previous_attributes"]
    obj["items"], prev["items"] = prev["items"], obj["items"]
    obj["plan"], prev["plan"] = prev["plan"], obj["plan"]
    event = run(payload).event
    assert (event.from_tier, event.tier) == ("pro", "basic")


def test_updated_tier_comes_from_current_items_without_a_plan_diff(run, load, known):
    """Problem 4: an update naming an enterprise price with no plan in previous_attributes is enterprise."""
    payload = fixture(load, "customer.subscription.updated.legacy_plan")
    payload["data"]["previous_attributes"] = {"metadata": {"seats": "3"}}
    event = run(payload).event
    assert (event.kind, event.tier) == (EventKind.PLAN_CHANGE, "enterprise")


def test_updated_status_only_writes_the_status_with_the_snapshot_tier(run, known):
    """active -> past_due: the snapshot's tier (pro) and status past_due; the rules change only the field."""
    event = run("customer.subscription.updated.past_due").event
    assert (event.kind, event.user_id, event.tier) == (EventKind.PLAN_CHANGE, "u_1001", "pro")
    assert event.fields == {"subscription_status": "past_due"}


@pytest.mark.parametrize(("new", "field"), [("active", "active"), ("unpaid", "unpaid"), ("trialing", "trialing")])
def test_updated_status_is_read_from_the_snapshot(run, load, known, new, field):
    """Whatever the status is now (recovery, unpaid, trial) is what subscription_status becomes."""
    payload = fixture(load, "customer.subscription.updated.past_due")
    payload["data"]["object"]["status"] = new
    assert run(payload).event.fields == {"subscription_status": field}


def test_updated_cancel_at_period_end_is_scheduled_not_churn(run, known):
    """cancel_at_period_end true: subscription_status "cancel_scheduled", the tier stays."""
    event = run("customer.subscription.updated.cancel_at_period_end").event
    assert event.kind is EventKind.PLAN_CHANGE and event.tier != CANCELLED
    assert event.fields == {"subscription_status": "cancel_scheduled"}


def test_updated_cancel_at_period_end_undone_back_to_active(run, load, known):
    """Undoing a scheduled cancellation sets subscription_status back to active."""
    payload = fixture(load, "customer.subscription.updated.cancel_at_period_end")
    obj, prev = payload["data"]["object"], payload["data"]["previous_attributes"]
    obj.update(cancel_at=None, cancel_at_period_end=False, canceled_at=None)
    prev.update(cancel_at=1738310400, cancel_at_period_end=True, canceled_at=1735812000)
    assert run(payload).event.fields == {"subscription_status": "active"}


def test_updated_cancel_at_set_without_period_end_flag_is_scheduled(run, load, known):
    """A cancellation scheduled by `cancel_at` (newer API) is also cancel_scheduled."""
    payload = fixture(load, "customer.subscription.updated.cancel_at_period_end")
    payload["data"]["object"]["cancel_at_period_end"] = False
    payload["data"]["previous_attributes"] = {"cancel_at": None}
    assert run(payload).event.fields == {"subscription_status": "cancel_scheduled"}


def test_updated_pause_collection_is_paused(run, load, known):
    """pause_collection set on an active subscription: subscription_status "paused"."""
    payload = fixture(load, "customer.subscription.updated.past_due")
    payload["data"]["object"].update(status="active", pause_collection={"behavior": "void", "resumes_at": None})
    assert run(payload).event.fields == {"subscription_status": "paused"}


def test_updated_renewal_after_a_snapshot_is_ignored(run, load, known):
    """A renewal (only the period dates change) after a recorded snapshot changes nothing tracked."""
    first = fixture(load, "customer.subscription.updated.past_due")
    first["data"]["object"]["status"] = "active"
    assert run(first).outcome == "event"
    renewal = copy.deepcopy(first)
    renewal["id"], renewal["created"] = "evt_1PgRenewal000000000001", first["created"] + 2_592_000
    renewal["data"]["object"]["current_period_start"] += 2_592_000
    renewal["data"]["previous_attributes"] = {"current_period_end": 1, "current_period_start": 0}
    result = run(renewal)
    assert result.outcome == "ignored" and "nothing mautic-ctl tracks changed" in result.ignored


def test_updated_same_tier_price_change_after_a_snapshot_is_ignored(run, load, known):
    """Switching between two prices of the same tier (monthly -> yearly pro) changes nothing tracked."""
    run("customer.subscription.updated.upgrade")
    payload = fixture(load, "customer.subscription.updated.upgrade")
    payload["id"], payload["created"] = "evt_1PgYearly00000000000001", payload["created"] + 60
    payload["data"]["object"]["items"]["data"][0]["price"].update(id="price_pro_yearly")
    assert run(payload).outcome == "ignored"


def test_updated_to_canceled_is_cancellation(run, load, known):
    """An update whose status became canceled is the churn (also announced by .deleted)."""
    payload = fixture(load, "customer.subscription.updated.past_due")
    payload["data"]["object"]["status"] = "canceled"
    event = run(payload).event
    assert (event.kind, event.tier, event.from_tier) == (EventKind.PLAN_CHANGE, CANCELLED, "pro")


def test_plan_change_without_status_field_configured_still_recorded(run, vocab, known):
    """Without the status field, a plan change is recorded without fields."""
    narrow = Vocabulary(tiers=vocab.tiers, fields={})
    event = run("customer.subscription.updated.upgrade", vocab_=narrow).event
    assert event.tier == "pro" and event.fields == {}


def test_older_snapshot_is_superseded_naming_the_newer(run, load, known):
    """Problem 4: updated (T+100, past_due) before created (T): created is superseded by updated."""
    updated = fixture(load, "customer.subscription.updated.past_due")
    created = fixture(load, "customer.subscription.created")
    assert created["created"] < updated["created"]
    assert run(updated).event.fields == {"subscription_status": "past_due"}
    result = run(created)
    assert result.outcome == "superseded" and result.superseded_by == updated["id"]


def test_same_second_snapshots_are_ordered_by_the_object_clock(run, load, known):
    """Two Events in one second: the subscription's own later timestamp (canceled_at) decides."""
    base = fixture(load, "customer.subscription.updated.past_due")
    base["data"]["object"]["status"] = "active"
    cancel = copy.deepcopy(base)
    cancel["id"] = "evt_1PgSameSecondCancel0001"
    cancel["data"]["object"].update(cancel_at_period_end=True, canceled_at=base["created"])
    assert run(cancel).event.fields == {"subscription_status": "cancel_scheduled"}
    assert run(base).outcome == "superseded"


# --- subscription deleted / invoices -----------------------------------------------------------------


def test_deleted_is_cancellation(run, known):
    """subscription.deleted: plan_change to "cancelled" from the subscription's tier."""
    event = run("customer.subscription.deleted").event
    assert (event.kind, event.tier, event.from_tier) == (EventKind.PLAN_CHANGE, CANCELLED, "pro")
    assert event.fields == {"subscription_status": "cancelled"}
    assert event.event_id == "evt_1Ph07gLkdIwHu7ixDeleted001"


def test_invoice_paid_is_payment_in_major_units(run, state):
    """invoice.paid: a payment of amount_paid / 100, found by the invoice's customer_email; its queue
    event id is the invoice id, so invoice.payment_succeeded of the same invoice counts once."""
    state.add_user("u_1001", email="ada@example.com")
    event = run("invoice.paid").event
    assert (event.kind, event.user_id, event.amount, event.email) == (EventKind.PAYMENT, "u_1001", 49.0, None)
    assert event.event_id == "in_1PgX20LkdIwHu7ixa9Kq3TfB"
