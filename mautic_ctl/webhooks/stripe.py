"""Stripe webhook Events -> mautic-ctl lifecycle events. Pure: no I/O, the clock is ``now``.

Handled types:

- ``customer.subscription.created`` / ``.updated`` / ``.deleted``: each carries the WHOLE current
  subscription, so each is taken as a snapshot. The tier comes from its current items (price id,
  then ``lookup_key``, then product; the highest mapped tier wins, unmapped add-ons are ignored),
  the status from ``status`` / ``cancel_at_period_end`` / ``pause_collection``;
  ``previous_attributes`` only names the transition. Snapshots of one subscription are ordered by
  the Event's ``created``, then by the subscription's own timestamps; an older one is superseded.
- ``invoice.paid`` and ``invoice.payment_succeeded`` (both are sent): a payment, counted once per
  invoice id (the queue event id is the invoice id).
- ``customer.created`` / ``.updated`` and ``checkout.session.completed``: they teach who a customer
  is (email, ``metadata.user_id``, ``client_reference_id``) and wake deliveries waiting for that.

Both API generations are read: plan and current period on the subscription (before 2025-03-31)
and price and current period on the items (``basil`` and later). Test-mode events (``livemode``
false) are ignored unless ``accept_test_mode``. Who the event is about: see ``identity``.
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
    split_name,
)
from mautic_ctl.webhooks.identity import Claim, Who, contact_email, remember, resolve
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
from mautic_ctl.webhooks.state import (
    CUSTOMER,
    SUBSCRIPTION,
    VIA_CHECKOUT,
    VIA_EXPLICIT,
    BillingState,
    SubscriptionRecord,
)

SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_SUCCEEDED = "invoice.payment_succeeded"
CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_EVENTS = frozenset({SUBSCRIPTION_CREATED, SUBSCRIPTION_UPDATED, SUBSCRIPTION_DELETED})
PAYMENTS = frozenset({INVOICE_PAID, INVOICE_PAYMENT_SUCCEEDED})
LINKING = frozenset({CUSTOMER_CREATED, CUSTOMER_UPDATED, CHECKOUT_COMPLETED})
HANDLED = SUBSCRIPTION_EVENTS | PAYMENTS | LINKING

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
    if payload.get("livemode") is False and not cfg.accept_test_mode:
        return out.test_mode("Stripe livemode: false")
    data = as_dict(payload.get("data"))
    obj = as_dict(data.get("object"))
    if not obj:
        return out.bury(f"{event_type} {key} carries no data.object.")
    if event_type in PAYMENTS:
        return _invoice_paid(out, obj, cfg, state)
    if event_type in LINKING:
        return _learn(out, event_type, obj, state)
    return _subscription(out, event_type, obj, as_dict(data.get("previous_attributes")), cfg, vocab, state)


# --- who ---------------------------------------------------------------------------------------


def _customer_id(obj: dict[str, Any]) -> str | None:
    customer = obj.get("customer")
    return as_id(customer) or as_id(as_dict(customer).get("id"))


def stripe_customer_of(payload: object) -> str | None:
    """The customer id a Stripe Event's object names (for the optional API lookup), else None."""
    obj = as_dict(as_dict(as_dict(payload).get("data")).get("object"))
    if as_dict(payload).get("type") in (CUSTOMER_CREATED, CUSTOMER_UPDATED):
        return None  # it is the customer itself
    return _customer_id(obj)


def learn_customer(state: BillingState, customer: dict[str, Any]) -> None:
    """Remember what a Stripe Customer object (from the API) says: its email and metadata.user_id."""
    customer_id = as_id(customer.get("id"))
    if customer_id is None:
        return
    user_id = as_id(as_dict(customer.get("metadata")).get("user_id"))
    email = as_email(customer.get("email"))
    via = VIA_EXPLICIT if user_id else None
    state.remember_link(STRIPE, CUSTOMER, customer_id, user_id=user_id, email=email, via=via)


def _subscription_claim(sub: dict[str, Any]) -> Claim:
    customer = as_dict(sub.get("customer"))  # expanded only when the endpoint asks for it
    metadata = as_dict(sub.get("metadata"))
    return Claim(
        explicit_user=as_id(metadata.get("user_id")),
        customer_user=as_id(as_dict(customer.get("metadata")).get("user_id")),
        customer_id=_customer_id(sub),
        subscription_id=as_id(sub.get("id")),
        email=as_email(customer.get("email")) or as_email(metadata.get("email")),
    )


def _invoice_claim(invoice: dict[str, Any]) -> Claim:
    details = as_dict(invoice.get("subscription_details"))  # API < 2025-03-31
    parent = as_dict(as_dict(invoice.get("parent")).get("subscription_details"))  # basil and later
    subscription = invoice.get("subscription") or parent.get("subscription")
    explicit = as_id(as_dict(details.get("metadata")).get("user_id")) or as_id(
        as_dict(parent.get("metadata")).get("user_id")
    )
    return Claim(
        explicit_user=explicit or as_id(as_dict(invoice.get("metadata")).get("user_id")),
        customer_id=_customer_id(invoice),
        subscription_id=as_id(subscription) or as_id(as_dict(subscription).get("id")),
        email=as_email(invoice.get("customer_email")),
    )


def _unresolved(out: Outcome, claim: Claim, who: Who) -> Normalised:
    """The delivery waits for a linking event (customer.created, checkout.session.completed …)."""
    customer = claim.customer_id or "(none)"
    if who.user_id is None:
        said = f"no product user has the email {who.email}" if who.email else "no email is known for it"
        return out.wait(
            f"no product user is linked to Stripe customer {customer} yet: there is no metadata.user_id, no "
            f"checkout client_reference_id, and {said}. Waiting for customer.created or "
            "checkout.session.completed (or the user's signup, then `mautic-ctl webhook retry`)."
        )
    return out.wait(
        f"user {who.user_id!r} has no Mautic contact yet and no email is known for Stripe customer {customer}: "
        "waiting for customer.created or checkout.session.completed to tell the email."
    )


def _learn(out: Outcome, event_type: str, obj: dict[str, Any], state: BillingState) -> Normalised:
    """customer.created/updated and checkout.session.completed: remember who a customer is."""
    if event_type == CHECKOUT_COMPLETED:
        details = as_dict(obj.get("customer_details"))
        email = as_email(details.get("email")) or as_email(obj.get("customer_email"))
        explicit = as_id(as_dict(obj.get("metadata")).get("user_id"))
        reference = as_id(obj.get("client_reference_id"))
        user_id, via = (explicit, VIA_EXPLICIT) if explicit else (reference, VIA_CHECKOUT)
        customer_id = _customer_id(obj)
        sub = obj.get("subscription")
        subscription_id = as_id(sub) or as_id(as_dict(sub).get("id"))
    else:
        learn_customer(state, obj)
        email, user_id = as_email(obj.get("email")), as_id(as_dict(obj.get("metadata")).get("user_id"))
        customer_id, subscription_id, via = as_id(obj.get("id")), None, VIA_EXPLICIT
    if customer_id is None and subscription_id is None:
        return out.ignore(f"{event_type} names no customer or subscription: nothing to link.")
    if subscription_id and user_id:
        linked = state.link(STRIPE, SUBSCRIPTION, subscription_id)
        if linked is not None and linked.user_id and linked.user_id != user_id:
            return out.bury(
                f"subscription {subscription_id} belongs to user {linked.user_id!r}, but {event_type} names "
                f"user {user_id!r}: a link never moves a subscription to another user."
            )
        state.remember_link(STRIPE, SUBSCRIPTION, subscription_id, user_id=user_id, email=None, via=via)
    if customer_id and event_type == CHECKOUT_COMPLETED:
        state.remember_link(STRIPE, CUSTOMER, customer_id, user_id=user_id, email=email, via=via if user_id else None)
    who = f"user {user_id!r}" if user_id else f"the email {email}" if email else "nothing new"
    return out.learn(f"{event_type}: Stripe customer {customer_id or '(none)'} is linked to {who}.")


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
    sub_id = as_id(sub.get("id"))
    if sub_id is None:
        return out.bury(f"{event_type} carries a subscription without an id.")
    raw_status = as_status(sub.get("status")) or ""
    prices = _prices(sub)
    tier, unmapped = _tier_of(prices, cfg, vocab)
    if tier is None:
        return out.bury(_unmapped_reason(sub_id, unmapped))
    clock = _object_clock(sub)
    prev = state.subscription(STRIPE, sub_id)
    if prev is not None and (prev.updated_at, prev.clock) > (out.occurred_at, clock):
        return out.supersede(
            f"an older snapshot of subscription {sub_id} (created {out.occurred_at.isoformat()}) than "
            f"{prev.delivery_id or 'one already recorded'} ({prev.updated_at.isoformat()}): the newer one stands.",
            prev.delivery_id,
        )
    claim = _subscription_claim(sub)
    who = resolve(STRIPE, claim, state)
    if who.conflict:
        return out.bury(who.conflict)
    if who.user_id is None:
        return _unresolved(out, claim, who)
    ended = event_type == SUBSCRIPTION_DELETED or raw_status in ("canceled", "incomplete_expired")
    known = state.known_tier(who.user_id)
    if known is None and who.email is None and not ended:
        return _unresolved(out, claim, who)
    remember(STRIPE, claim, who, state)
    status = STATUS_CANCELLED if ended else (_effective_status(sub) or raw_status)
    keys = _price_keys(prices[0]) if prices else (None, None, None)
    state.remember_subscription(
        STRIPE, sub_id, SubscriptionRecord(keys[0] or "", tier, status, out.occurred_at, clock, out.delivery_id)
    )
    if raw_status == "incomplete":
        return out.ignore(
            f"subscription {sub_id} is incomplete: its first payment is not confirmed, so it changes no "
            "tier (the update to active will)."
        )
    email = contact_email(who, state, email_from_billing=cfg.email_from_billing)
    if ended:
        if known is None:
            return out.ignore(f"subscription {sub_id} ended for user {who.user_id!r}, who never had a contact.")
        return out.change_plan(
            user_id=who.user_id, tier=CANCELLED, from_tier=tier, status=STATUS_CANCELLED, email=email
        )
    if known is None:
        names = split_name(as_dict(sub.get("customer")).get("name"))
        return out.enter_tier(state, user_id=who.user_id, tier=tier, status=status, email=who.email, names=names)
    if prev is not None and (prev.tier, prev.status) == (tier, status) and prev.status != STATUS_CANCELLED:
        return out.ignore(
            f"subscription {sub_id} is still {tier} and {status}: nothing mautic-ctl tracks changed "
            "(a renewal, a new payment method …)."
        )
    # previous_attributes only names where the subscription came from (the rules name the transition
    # from what was applied); the snapshot decides where it is now.
    before = None
    if "items" in previous or "plan" in previous:
        before, _ = _tier_of(_prices(previous), cfg, vocab)
    if before is None and prev is not None:
        before = CANCELLED if prev.status == STATUS_CANCELLED else prev.tier
    return out.change_plan(user_id=who.user_id, tier=tier, from_tier=before or known, status=status, email=email)


def _object_clock(sub: dict[str, Any]) -> int:
    """The subscription's own latest timestamp: orders two snapshots whose Events share a second."""
    stamps = [as_int(sub.get(k)) for k in ("current_period_start", "canceled_at", "ended_at", "start_date")]
    for item in as_list(as_dict(sub.get("items")).get("data")):
        stamps.append(as_int(as_dict(item).get("current_period_start")))
    pause = as_dict(sub.get("pause_collection"))
    stamps.append(1 if pause else None)
    return max((s for s in stamps if s is not None), default=0)


def _effective_status(view: dict[str, Any]) -> str | None:
    """The subscription_status to write: Stripe's status, cancel_scheduled while a cancellation is
    pending, paused while payment collection is paused."""
    raw = as_status(view.get("status"))
    status = _STATUS.get(raw, raw) if raw else None
    if status in (STATUS_ACTIVE, STATUS_TRIALING) and as_dict(view.get("pause_collection")):
        return STATUS_PAUSED
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


# --- payments ----------------------------------------------------------------------------------


def _invoice_paid(out: Outcome, invoice: dict[str, Any], cfg: ProviderConfig, state: BillingState) -> Normalised:
    invoice_id = as_id(invoice.get("id"))
    if invoice_id is None:
        return out.bury(f"{out.event_type} carries an invoice without an id.")
    paid = as_int(invoice.get("amount_paid"))
    if paid is None:
        return out.bury(f"invoice {invoice_id} has no usable amount_paid (an integer in cents).")
    claim = _invoice_claim(invoice)
    who = resolve(STRIPE, claim, state)
    if who.conflict:
        return out.bury(who.conflict)
    if claim.customer_id and claim.email:  # an invoice tells the customer's email: a link
        link = state.link(STRIPE, CUSTOMER, claim.customer_id)
        if link is None or link.email is None:
            state.remember_link(STRIPE, CUSTOMER, claim.customer_id, user_id=None, email=claim.email, via=None)
    if paid <= 0:
        return out.ignore(f"invoice {invoice_id} was paid with 0: nothing to add to lifetime_value.")
    if who.user_id is None:
        return _unresolved(out, claim, who)
    if state.known_tier(who.user_id) is None and who.email is None:
        return _unresolved(out, claim, who)
    remember(STRIPE, claim, who, state)
    currency = invoice.get("currency")
    zero_decimal = isinstance(currency, str) and currency.lower() in ZERO_DECIMAL
    amount = paid if zero_decimal else paid / 100
    email = contact_email(who, state, email_from_billing=cfg.email_from_billing)
    # The invoice id is the queue event id: invoice.paid and invoice.payment_succeeded of one invoice
    # are one payment.
    return out.emit(EventKind.PAYMENT, event_id=invoice_id, user_id=who.user_id, email=email, amount=amount)
