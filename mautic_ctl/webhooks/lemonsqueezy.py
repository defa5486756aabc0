"""LemonSqueezy webhooks -> mautic-ctl lifecycle events. Pure: no I/O, the clock is ``now``.

LemonSqueezy sends no event id, no timestamp header and no "previous" values, which shapes this
module:

- The dedupe key is ``ls-<sha256 of the body>`` (surrounding whitespace stripped, so a payload saved
  to a file dedupes against its HTTP delivery). A redelivery is byte-identical; a real change is not.
- The event time is ``data.attributes.updated_at``.
- A plan change shows only as a new ``variant_id``, so each subscription's last known variant and
  status are remembered (:class:`~mautic_ctl.webhooks.state.SubscriptionRecord`) and every
  subscription event is compared with them. A delivery older than what is remembered is ignored:
  it cannot say what changed. LemonSqueezy sends ``subscription_updated`` alongside most specific
  events; whichever arrives second then finds nothing new and is ignored, so a change is recorded once.

Who: see ``identity`` (``meta.custom_data.user_id`` passed at checkout, then a remembered
customer link, then the known user with ``data.attributes.user_email``). ``order_created`` teaches
the customer link. Test-mode deliveries (``meta.test_mode``) are ignored unless ``accept_test_mode``.
"""

from __future__ import annotations

import hashlib
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
    as_status,
    as_time,
    split_name,
)
from mautic_ctl.webhooks.identity import Claim, Who, contact_email, remember, resolve
from mautic_ctl.webhooks.model import (
    LEMONSQUEEZY,
    STATUS_ACTIVE,
    STATUS_CANCEL_SCHEDULED,
    STATUS_CANCELLED,
    STATUS_PAST_DUE,
    STATUS_PAUSED,
    STATUS_TRIALING,
    STATUS_UNPAID,
    Normalised,
    ProviderConfig,
)
from mautic_ctl.webhooks.state import CUSTOMER, VIA_EXPLICIT, BillingState, SubscriptionRecord

CREATED = "subscription_created"
UPDATED = "subscription_updated"
CANCELLED_EVENT = "subscription_cancelled"
EXPIRED = "subscription_expired"
RESUMED = "subscription_resumed"
PAUSED = "subscription_paused"
UNPAUSED = "subscription_unpaused"
PAYMENT_SUCCESS = "subscription_payment_success"
ORDER_CREATED = "order_created"
SUBSCRIPTION_EVENTS = frozenset(
    {CREATED, UPDATED, CANCELLED_EVENT, EXPIRED, RESUMED, PAUSED, UNPAUSED, "subscription_plan_changed"}
)
HANDLED = SUBSCRIPTION_EVENTS | {PAYMENT_SUCCESS, ORDER_CREATED}
_REACTIVATING = (RESUMED, UNPAUSED)

_STATUS = {
    "on_trial": STATUS_TRIALING,
    "active": STATUS_ACTIVE,
    "paused": STATUS_PAUSED,
    "past_due": STATUS_PAST_DUE,
    "unpaid": STATUS_UNPAID,
    "cancelled": STATUS_CANCEL_SCHEDULED,  # LemonSqueezy: cancelled, but active until ends_at
    "expired": STATUS_CANCELLED,  # the churn
}
_NAME_RE = re.compile(r"^[a-z0-9_.]{1,100}$")


def delivery_id(raw: bytes) -> str:
    """``ls-`` + the SHA-256 of the body: LemonSqueezy has no event id, and a redelivery is identical."""
    return "ls-" + hashlib.sha256(raw.strip()).hexdigest()


def normalise(
    payload: object,
    raw: bytes,
    cfg: ProviderConfig,
    vocab: Vocabulary,
    state: BillingState,
    *,
    now: datetime,
) -> Normalised:
    """What one verified LemonSqueezy delivery means for mautic-ctl."""
    if not isinstance(payload, dict):
        raise InputError("a LemonSqueezy webhook body must be a JSON object with meta and data.")
    name = as_dict(payload.get("meta")).get("event_name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError('not a LemonSqueezy webhook: it has no "meta.event_name".')
    data = as_dict(payload.get("data"))
    attrs = as_dict(data.get("attributes"))
    occurred = as_time(attrs.get("updated_at")) or as_time(attrs.get("created_at")) or now
    out = Outcome(LEMONSQUEEZY, delivery_id(raw), name, occurred, vocab, now)
    if name not in HANDLED:
        return out.ignore(f"LemonSqueezy event {name} does not change a subscription lifecycle.")
    if as_dict(payload.get("meta")).get("test_mode") is True and not cfg.accept_test_mode:
        return out.test_mode("LemonSqueezy meta.test_mode: true")
    if name == ORDER_CREATED:
        return _order(out, payload, attrs, state)
    if name == PAYMENT_SUCCESS:
        return _payment(out, payload, attrs, cfg, state)
    return _subscription(out, name, payload, data, attrs, cfg, state)


def _order(out: Outcome, payload: dict[str, Any], attrs: dict[str, Any], state: BillingState) -> Normalised:
    """order_created: links the customer to custom_data.user_id and the buyer's email."""
    claim = _claim(payload, attrs, None)
    if claim.customer_id is None:
        return out.ignore("order_created names no customer_id: nothing to link.")
    via = VIA_EXPLICIT if claim.explicit_user else None
    user_id, customer_id = claim.explicit_user, claim.customer_id
    state.remember_link(LEMONSQUEEZY, CUSTOMER, customer_id, user_id=user_id, email=claim.email, via=via)
    who = f"user {claim.explicit_user!r}" if claim.explicit_user else f"the email {claim.email}"
    return out.learn(f"order_created: LemonSqueezy customer {claim.customer_id} is linked to {who}.")


def _subscription(
    out: Outcome,
    name: str,
    payload: dict[str, Any],
    data: dict[str, Any],
    attrs: dict[str, Any],
    cfg: ProviderConfig,
    state: BillingState,
) -> Normalised:
    sub_id = as_id(data.get("id"))
    if sub_id is None:
        return out.bury(f"{name} has no data.id (the subscription id).")
    raw_status = as_status(attrs.get("status"))
    if raw_status is None:
        return out.bury(f"{name} for subscription {sub_id} has no data.attributes.status.")
    variant, product = as_id(attrs.get("variant_id")), as_id(attrs.get("product_id"))
    tier = cfg.tier_for(variant, product)
    if tier is None:
        label = " – ".join(str(attrs[k]) for k in ("product_name", "variant_name") if attrs.get(k))
        return out.bury(
            f"variant {variant} (product {product}{', ' + repr(label) if label else ''}) of subscription "
            f'{sub_id} maps to no tier: add "{variant or product}" = "<tier>" under [lemonsqueezy.tiers].'
        )
    updated_at = out.occurred_at
    prev = state.subscription(LEMONSQUEEZY, sub_id)
    if prev is not None and prev.updated_at > updated_at:
        return out.supersede(
            f"{name} is an older snapshot ({updated_at.isoformat()}) of subscription {sub_id} than "
            f"{prev.delivery_id or 'one already recorded'} ({prev.updated_at.isoformat()}): the newer one stands.",
            prev.delivery_id,
        )
    claim = _claim(payload, attrs, sub_id)
    who = resolve(LEMONSQUEEZY, claim, state)
    if who.conflict:
        return out.bury(who.conflict)
    if who.user_id is None or (state.known_tier(who.user_id) is None and who.email is None):
        return _no_user(out, claim, who)
    user_id = who.user_id
    remember(LEMONSQUEEZY, claim, who, state)
    email = contact_email(who, state, email_from_billing=cfg.email_from_billing)
    state.remember_subscription(
        LEMONSQUEEZY,
        sub_id,
        SubscriptionRecord(variant or product or "", tier, raw_status, updated_at, 0, out.delivery_id),
    )

    status = _STATUS.get(raw_status, raw_status)
    effective = CANCELLED if raw_status == "expired" else tier
    if prev is not None:
        before: str | None = CANCELLED if prev.status == "expired" else prev.tier
        status_before: str | None = _STATUS.get(prev.status, prev.status)
    else:
        before, status_before = state.known_tier(user_id), None
    names = split_name(attrs.get("user_name"))

    # A new subscription (unless its subscription_updated twin already arrived), or one of a user our
    # mirror never saw: into the tier, as a signup when we can.
    if (name == CREATED and prev is None) or (before is None and effective != CANCELLED):
        signup_email = email if state.known_tier(user_id) is not None else who.email
        return out.enter_tier(state, user_id=user_id, tier=tier, status=status, email=signup_email, names=names)
    if name in _REACTIVATING and raw_status != "expired":
        # Back to the tier; from "cancelled" the rules make it a reactivation.
        return out.change_plan(user_id=user_id, tier=tier, from_tier=before, status=status, email=email)
    if effective != before:
        if effective == CANCELLED:
            from_tier = before if before is not None and before != CANCELLED else tier
            return out.change_plan(
                user_id=user_id, tier=CANCELLED, from_tier=from_tier, status=STATUS_CANCELLED, email=email
            )
        return out.change_plan(user_id=user_id, tier=tier, from_tier=before, status=status, email=email)
    if status != status_before:
        return out.sync_status(user_id, status, email)
    return out.ignore(f"{name} changed nothing mautic-ctl tracks for subscription {sub_id} (tier, status).")


def _payment(
    out: Outcome, payload: dict[str, Any], attrs: dict[str, Any], cfg: ProviderConfig, state: BillingState
) -> Normalised:
    total = as_int(attrs.get("total"))  # subscription-invoices: an integer in cents
    if total is None:
        return out.bury(f"{out.event_type} has no usable data.attributes.total (an integer in cents).")
    if total <= 0:
        return out.ignore("the invoice total is 0: nothing to add to lifetime_value.")
    invoice_status = as_status(attrs.get("status"))
    if invoice_status not in (None, "paid"):
        return out.ignore(f"the invoice is {invoice_status}, not paid.")
    claim = _claim(payload, attrs, as_id(attrs.get("subscription_id")))
    who = resolve(LEMONSQUEEZY, claim, state)
    if who.conflict:
        return out.bury(who.conflict)
    if who.user_id is None or (state.known_tier(who.user_id) is None and who.email is None):
        return _no_user(out, claim, who)
    remember(LEMONSQUEEZY, claim, who, state)
    email = contact_email(who, state, email_from_billing=cfg.email_from_billing)
    return out.emit(EventKind.PAYMENT, user_id=who.user_id, email=email, amount=total / 100)


def _claim(payload: dict[str, Any], attrs: dict[str, Any], subscription_id: str | None) -> Claim:
    return Claim(
        explicit_user=as_id(as_dict(as_dict(payload.get("meta")).get("custom_data")).get("user_id")),
        customer_id=as_id(attrs.get("customer_id")),
        subscription_id=subscription_id,
        email=as_email(attrs.get("user_email")),
    )


def _no_user(out: Outcome, claim: Claim, who: Who) -> Normalised:
    customer = claim.customer_id or "(none)"
    if who.user_id is not None:
        return out.wait(
            f"user {who.user_id!r} has no Mautic contact yet and no email is known for LemonSqueezy customer "
            f"{customer}: waiting for order_created (or the user's signup, then `mautic-ctl webhook retry`)."
        )
    said = f"no product user has the email {who.email}" if who.email else "the payload carries no user_email"
    return out.wait(
        f"no product user found for LemonSqueezy customer {customer}: there is no meta.custom_data.user_id, "
        f"{said}, and the customer is not linked to a user. Pass checkout[custom][user_id] at checkout; "
        "waiting for order_created (or the user's signup, then `mautic-ctl webhook retry`)."
    )
