"""Stripe webhook Events -> mautic-ctl lifecycle events. Pure: no I/O, the clock is ``now``.

Handled types: ``customer.subscription.created`` / ``.updated`` / ``.deleted`` and ``invoice.paid``;
every other type is acknowledged as ignored. The Event id (``evt_…``) is the dedupe key and
``created`` the event time, because Stripe retries and does not deliver in order: the queue drops
duplicates by id and stale events by time.

Who the event is about, in order: a known product user with the email the payload carries (an
expanded customer's email, an invoice's ``customer_email``, or ``metadata.email``), then the
remembered customer -> user mapping, then ``metadata.user_id`` (on the subscription, or on the
invoice's subscription details). A tier is the highest one any subscription item's price maps to,
looked up by price id, then ``lookup_key``, then product id.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mautic_ctl.errors import InputError
from mautic_ctl.events import CANCELLED, EventKind, Vocabulary
from mautic_ctl.webhooks.common import (
    Outcome,
    as_dict,
    as_email,
    as_id,
    as_int,
    as_list,
    as_status,
    as_time,
    remember_customer,
    split_name,
)
from mautic_ctl.webhooks.model import (
    STATUS_ACTIVE,
    STATUS_CANCEL_SCHEDULED,
    STATUS_CANCELLED,
    STATUS_INCOMPLETE,
    STATUS_PAST_DUE,
    STATUS_PAUSED,
    STATUS_TRIALING,
    STATUS_UNPAID,
    STRIPE,
    Normalised,
    ProviderConfig,
)
from mautic_ctl.webhooks.state import BillingState

SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAID = "invoice.paid"
HANDLED = frozenset({SUBSCRIPTION_CREATED, SUBSCRIPTION_UPDATED, SUBSCRIPTION_DELETED, INVOICE_PAID})

_STATUS = {
    "active": STATUS_ACTIVE,
    "trialing": STATUS_TRIALING,
    "past_due": STATUS_PAST_DUE,
    "unpaid": STATUS_UNPAID,
    "paused": STATUS_PAUSED,
    "incomplete": STATUS_INCOMPLETE,
    "canceled": STATUS_CANCELLED,
    "incomplete_expired": STATUS_CANCELLED,
}
_NEVER_STARTED = ("incomplete", "incomplete_expired")  # the first payment never went through
# Currencies Stripe counts in major units (amount 500 JPY is ¥500, not ¥5).
ZERO_DECIMAL = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
_TYPE_RE = re.compile(r"^[a-z0-9_.]{1,100}$")


def delivery_id(payload: object) -> str:
    """The Stripe Event id (``evt_…``), the key redeliveries are recognised by."""
    if not isinstance(payload, dict):
        raise InputError("a Stripe webhook body must be a JSON object (a Stripe Event).")
    event_id = as_id(payload.get("id"))
    if event_id is None or not event_id.startswith("evt_"):
        raise InputError('not a Stripe Event: it has no "id" like evt_….')
    return event_id


def normalise(
    payload: object,
    raw: bytes,
    cfg: ProviderConfig,
    vocab: Vocabulary,
    state: BillingState,
    *,
    now: datetime,
) -> Normalised:
    """What one verified Stripe Event means for mautic-ctl (``raw`` is unused: Stripe has an id)."""
    key = delivery_id(payload)
    assert isinstance(payload, dict)
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not _TYPE_RE.match(event_type):
        raise InputError('not a Stripe Event: it has no "type" like customer.subscription.updated.')
    out = Outcome(STRIPE, key, event_type, as_time(payload.get("created")) or now, vocab, now)
    if event_type not in HANDLED:
        return out.ignore(f"Stripe event type {event_type} does not change a subscription lifecycle.")
    data = as_dict(payload.get("data"))
    obj = as_dict(data.get("object"))
    if not obj:
        return out.bury(f"{event_type} {key} carries no data.object.")
    if event_type == INVOICE_PAID:
        return _invoice_paid(out, obj, state)
    return _subscription(out, event_type, obj, as_dict(data.get("previous_attributes")), cfg, vocab, state)


# --- subscriptions ------------------------------------------------------------------------------


def _subscription(
    out: Outcome,
    event_type: str,
    sub: dict[str, Any],
    previous: dict[str, Any],
    cfg: ProviderConfig,
    vocab: Vocabulary,
    state: BillingState,
) -> Normalised:
    sub_id = as_id(sub.get("id")) or "(no id)"
    raw_status = as_status(sub.get("status"))
    old_raw_status = as_status(previous.get("status", sub.get("status")))
    if raw_status in _NEVER_STARTED:
        return out.ignore(
            f"subscription {sub_id} is {raw_status}: its first payment is not confirmed, so it "
            "changes no tier (an update to active will)."
        )
    tier, unmapped = _tier_of(_prices(sub), cfg, vocab)
    if tier is None:
        return out.bury(_unmapped_reason(sub_id, unmapped))
    user_id, email, customer_id = _find_user(sub, state)
    if user_id is None:
        return out.bury(_no_user_reason(email, customer_id))
    remember_customer(state, STRIPE, customer_id, user_id)
    status = _effective_status(sub)

    if event_type == SUBSCRIPTION_CREATED:
        names = split_name(as_dict(sub.get("customer")).get("name"))
        return out.enter_tier(state, user_id=user_id, tier=tier, status=status, email=email, names=names)
    if event_type == SUBSCRIPTION_DELETED:
        return out.change_plan(user_id=user_id, tier=CANCELLED, from_tier=tier, status=STATUS_CANCELLED, email=email)

    # customer.subscription.updated: previous_attributes holds the old value of each changed key.
    if old_raw_status in _NEVER_STARTED:  # the first payment went through: the subscription starts now
        return out.enter_tier(state, user_id=user_id, tier=tier, status=status, email=email)
    if raw_status == "canceled":  # normally announced by .deleted; recording it twice is harmless
        return out.change_plan(user_id=user_id, tier=CANCELLED, from_tier=tier, status=STATUS_CANCELLED, email=email)
    if "items" in previous or "plan" in previous:
        old_tier, _ = _tier_of(_prices(previous), cfg, vocab)
        old_tier = old_tier or state.known_tier(user_id)
        if old_tier != tier:
            return out.change_plan(user_id=user_id, tier=tier, from_tier=old_tier, status=status, email=email)
    # Status changes (active -> past_due) and cancel_at_period_end turning true or false: only the
    # subscription_status field changes. A scheduled cancellation is not churn; .deleted is.
    if status != _effective_status({**sub, **previous}) and status is not None:
        return out.sync_status(user_id, status, email)
    return out.ignore(f"subscription {sub_id} changed nothing mautic-ctl tracks (tier, status, cancellation).")


def _effective_status(view: dict[str, Any]) -> str | None:
    """The subscription_status to write: Stripe's status, or cancel_scheduled while one is pending."""
    raw = as_status(view.get("status"))
    status = _STATUS.get(raw, raw) if raw else None
    scheduled = view.get("cancel_at_period_end") is True or as_int(view.get("cancel_at")) is not None
    if status in (STATUS_ACTIVE, STATUS_TRIALING) and scheduled:
        return STATUS_CANCEL_SCHEDULED
    return status


def _prices(container: dict[str, Any]) -> list[dict[str, Any]]:
    """The prices of a subscription (or of its previous_attributes): items.data[].price, else the
    legacy single ``plan`` (Stripe plans are prices with the same id)."""
    prices = []
    for item in as_list(as_dict(container.get("items")).get("data")):
        item = as_dict(item)
        price = item.get("price") if isinstance(item.get("price"), dict) else item.get("plan")
        if isinstance(price, dict):
            prices.append(price)
    if not prices and isinstance(container.get("plan"), dict):
        prices.append(container["plan"])
    return prices


def _price_keys(price: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    product = price.get("product")
    product_id = as_id(product) or as_id(as_dict(product).get("id"))
    lookup_key = price.get("lookup_key")
    return as_id(price.get("id")), lookup_key if isinstance(lookup_key, str) else None, product_id


def _tier_of(
    prices: list[dict[str, Any]], cfg: ProviderConfig, vocab: Vocabulary
) -> tuple[str | None, list[tuple[str | None, str | None, str | None]]]:
    """The highest tier any price maps to, and the keys of the prices that map to none."""
    best: str | None = None
    unmapped = []
    for price in prices:
        keys = _price_keys(price)
        tier = cfg.tier_for(*keys)
        if tier is None:
            unmapped.append(keys)
        elif best is None or _rank(tier, vocab) > _rank(best, vocab):
            best = tier
    return best, unmapped


def _rank(tier: str, vocab: Vocabulary) -> int:
    return vocab.tiers.index(tier) if tier in vocab.tiers else -1


def _unmapped_reason(sub_id: str, unmapped: list[tuple[str | None, str | None, str | None]]) -> str:
    if not unmapped:
        return f"subscription {sub_id} lists no price, so its tier is unknown."
    described = []
    for price_id, lookup_key, product_id in unmapped:
        extra = [f"lookup_key {lookup_key!r}"] if lookup_key else []
        extra += [f"product {product_id}"] if product_id else []
        described.append(f"price {price_id}" + (f" ({', '.join(extra)})" if extra else ""))
    example = unmapped[0][0] or unmapped[0][1] or unmapped[0][2] or "price_…"
    return (
        f"{'; '.join(described)} of subscription {sub_id} maps to no tier: add its price id, lookup_key "
        f'or product id under [stripe.tiers], e.g. "{example}" = "<tier>".'
    )


# --- who ---------------------------------------------------------------------------------------


def _find_user(obj: dict[str, Any], state: BillingState) -> tuple[str | None, str | None, str | None]:
    """(user id, email, customer id) for a subscription or invoice; the user id may be None."""
    customer = obj.get("customer")
    customer_id = as_id(customer) or as_id(as_dict(customer).get("id"))
    metadata = as_dict(obj.get("metadata"))
    email = (
        as_email(as_dict(customer).get("email"))
        or as_email(obj.get("customer_email"))
        or as_email(metadata.get("email"))
    )
    user_id = state.user_for_email(email) if email else None
    if user_id is None and customer_id:
        user_id = state.user_for_customer(STRIPE, customer_id)
    if user_id is None:
        for meta in (
            metadata,
            as_dict(as_dict(obj.get("subscription_details")).get("metadata")),  # invoice, API < 2025
            as_dict(as_dict(as_dict(obj.get("parent")).get("subscription_details")).get("metadata")),
        ):
            user_id = as_id(meta.get("user_id"))
            if user_id:
                break
    return user_id, email, customer_id


def _no_user_reason(email: str | None, customer_id: str | None) -> str:
    said = f"no product user has the email {email}" if email else "the payload carries no email"
    return (
        f"no product user found for Stripe customer {customer_id or '(none)'}: {said}, the customer "
        "is not mapped to a user, and there is no metadata.user_id. Record the user's signup, or set "
        "metadata.user_id on the subscription at checkout."
    )


# --- payments ----------------------------------------------------------------------------------


def _invoice_paid(out: Outcome, invoice: dict[str, Any], state: BillingState) -> Normalised:
    invoice_id = as_id(invoice.get("id")) or "(no id)"
    paid = as_int(invoice.get("amount_paid"))
    if paid is None:
        return out.bury(f"invoice {invoice_id} has no usable amount_paid (an integer in cents).")
    if paid <= 0:
        return out.ignore(f"invoice {invoice_id} was paid with 0: nothing to add to lifetime_value.")
    currency = invoice.get("currency")
    zero_decimal = isinstance(currency, str) and currency.lower() in ZERO_DECIMAL
    user_id, email, customer_id = _find_user(invoice, state)
    if user_id is None:
        return out.bury(_no_user_reason(email, customer_id))
    remember_customer(state, STRIPE, customer_id, user_id)
    amount = paid if zero_decimal else paid / 100
    return out.emit(EventKind.PAYMENT, user_id=user_id, email=email, amount=amount)
