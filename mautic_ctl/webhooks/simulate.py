"""Realistic, signed webhook deliveries for `mautic-ctl simulate` (what `stripe trigger` does).

Pure: every id is derived from the inputs (a hash, shaped like the provider's ids), and the clock
is ``now``, so the same call prints the same delivery. The customer and subscription ids depend only
on the email, so successive simulations for one customer act on one subscription, as in real life:
``subscription_created --to basic`` then ``subscription_updated --to pro`` is a LemonSqueezy plan
change, derived from the remembered variant exactly as a real one is.

The price (Stripe) or variant (LemonSqueezy) for a tier is found by inverting the configured tier
map. Simulated payloads carry the email where a real integration would put the product's data:
Stripe ``metadata.email`` (+ ``metadata.user_id``), LemonSqueezy ``user_email`` (+
``meta.custom_data.user_id``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mautic_ctl.errors import InputError
from mautic_ctl.events import CANCELLED, validate_email, validate_user_id
from mautic_ctl.webhooks import lemonsqueezy as ls
from mautic_ctl.webhooks import stripe as st
from mautic_ctl.webhooks.delivery import check_provider
from mautic_ctl.webhooks.model import LEMONSQUEEZY, STRIPE
from mautic_ctl.webhooks.signatures import LEMONSQUEEZY_HEADER, STRIPE_HEADER, sign_lemonsqueezy, sign_stripe

STRIPE_EVENTS = (
    st.SUBSCRIPTION_CREATED,
    st.SUBSCRIPTION_UPDATED,
    st.SUBSCRIPTION_DELETED,
    st.INVOICE_PAID,
    st.INVOICE_PAYMENT_SUCCEEDED,
)
LEMONSQUEEZY_EVENTS = (
    ls.CREATED,
    ls.UPDATED,
    ls.CANCELLED_EVENT,
    ls.EXPIRED,
    ls.RESUMED,
    ls.PAUSED,
    ls.UNPAUSED,
    ls.PAYMENT_SUCCESS,
)
# Events that put the subscription in --to, and events that act on the tier it is in (--from).
_ENTERING = (st.SUBSCRIPTION_CREATED, st.SUBSCRIPTION_UPDATED, ls.CREATED, ls.UPDATED, ls.RESUMED, ls.UNPAUSED)
_LEAVING = (st.SUBSCRIPTION_DELETED, ls.CANCELLED_EVENT, ls.EXPIRED, ls.PAUSED)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class SimulatedDelivery:
    """One webhook delivery as the provider would POST it."""

    provider: str
    event_name: str
    body: bytes
    headers: dict[str, str]

    @property
    def signature(self) -> str | None:
        return self.headers.get(STRIPE_HEADER if self.provider == STRIPE else LEMONSQUEEZY_HEADER)


def simulate(
    provider: str,
    event_name: str,
    *,
    email: str,
    from_tier: str | None,
    to_tier: str | None,
    secret: str | None,
    tiers: Mapping[str, str],
    now: datetime,
    user_id: str | None = None,
    amount: float = 29.0,
    live: bool = True,
) -> SimulatedDelivery:
    """A realistic delivery of ``event_name``, signed with ``secret`` when one is given.

    ``--to`` is the tier a subscription enters (created, updated, resumed); ``--from`` the tier it
    is in when it ends, pauses or is cancelled (and the old tier of a Stripe update). Payments use
    ``amount`` (major units) and whichever tier is given. ``live`` False makes a test-mode event
    (Stripe ``livemode: false``, LemonSqueezy ``test_mode: true``). Raises InputError for an event this cannot
    simulate or a tier the tier map has no id for.
    """
    known = STRIPE_EVENTS if check_provider(provider) == STRIPE else LEMONSQUEEZY_EVENTS
    if event_name not in known:
        raise InputError(f"cannot simulate {provider} event {event_name!r}; use one of: {', '.join(known)}.")
    email = validate_email(email)
    user_id = validate_user_id(user_id) if user_id is not None else None
    if not amount > 0:
        raise InputError("a simulated payment needs a positive amount.")
    tier = _tier_for(event_name, from_tier, to_tier)
    ids = _Ids(provider, email, event_name, from_tier, to_tier, now)
    if provider == STRIPE:
        payload = _stripe(event_name, tier, from_tier, tiers, ids, email, user_id, amount, now)
        _set_mode(payload, "livemode", live)
        body = json.dumps(payload, indent=2).encode()  # Stripe sends pretty-printed JSON
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0"}
        if secret:
            headers[STRIPE_HEADER] = sign_stripe(body, secret, int(now.timestamp()))
    else:
        payload = _lemonsqueezy(event_name, tier, tiers, ids, email, user_id, amount, now)
        _set_mode(payload, "test_mode", not live)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Event-Name": event_name}
        if secret:
            headers[LEMONSQUEEZY_HEADER] = sign_lemonsqueezy(body, secret)
    return SimulatedDelivery(provider, event_name, body, headers)


def _set_mode(node: object, key: str, value: bool) -> None:
    """Set every ``key`` (livemode / test_mode) in the payload: the event's and its objects' agree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                node[k] = value
            else:
                _set_mode(v, key, value)
    elif isinstance(node, list):
        for item in node:
            _set_mode(item, key, value)


def _tier_for(event_name: str, from_tier: str | None, to_tier: str | None) -> str | None:
    to_tier = to_tier.strip().lower() if to_tier else None
    from_tier = from_tier.strip().lower() if from_tier else None
    if event_name in _ENTERING:
        if not to_tier or to_tier == CANCELLED:
            raise InputError(f"{event_name} puts a subscription into a tier: give it with --to.")
        return to_tier
    if event_name in _LEAVING:
        tier = from_tier or (to_tier if to_tier != CANCELLED else None)
        if not tier or tier == CANCELLED:
            raise InputError(f"{event_name} acts on the tier the subscription is in: give it with --from.")
        return tier
    # A payment: the tier of the price paid for, if any is given (it does not change the outcome).
    for tier in (to_tier, from_tier):
        if tier and tier != CANCELLED:
            return tier
    return None


def _key_for(tiers: Mapping[str, str], tier: str, provider: str) -> str:
    """The tier map key that maps to ``tier``; for Stripe a price id before a lookup_key or product."""
    keys = [k for k, v in tiers.items() if str(v).strip().lower() == tier]
    if not keys:
        raise InputError(
            f'no [{provider}.tiers] entry maps to tier {tier!r}; add one (e.g. "<id>" = "{tier}") to simulate it.'
        )
    if provider == STRIPE:
        keys.sort(key=lambda k: 0 if k.startswith("price_") else 2 if k.startswith("prod_") else 1)
    return keys[0]


class _Ids:
    """Deterministic provider-shaped ids: customer and subscription per email, the rest per call."""

    def __init__(self, provider: str, email: str, *call: object) -> None:
        self.customer_seed = f"{provider}:{email.lower()}"
        self.call_seed = f"{self.customer_seed}:{call!r}"

    @staticmethod
    def b62(seed: str, length: int) -> str:
        number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
        out = []
        for _ in range(length):
            number, digit = divmod(number, 62)
            out.append(_B62[digit])
        return "".join(out)

    @staticmethod
    def number(seed: str, low: int, high: int) -> int:
        return low + int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (high - low)

    def stripe(self, prefix: str, per_customer: bool = False, length: int = 24) -> str:
        seed = (self.customer_seed if per_customer else self.call_seed) + prefix
        return f"{prefix}_1" + self.b62(seed, length - 1)

    def ls(self, what: str, per_customer: bool = True, low: int = 100_000, high: int = 9_999_999) -> int:
        return self.number((self.customer_seed if per_customer else self.call_seed) + what, low, high)


# --- Stripe --------------------------------------------------------------------------------------


def _stripe(
    event_name: str,
    tier: str | None,
    from_tier: str | None,
    tiers: Mapping[str, str],
    ids: _Ids,
    email: str,
    user_id: str | None,
    amount: float,
    now: datetime,
) -> dict[str, Any]:
    t = int(now.timestamp())
    cents = round(amount * 100)
    customer, sub_id = ids.stripe("cus", True, 15), ids.stripe("sub", True)
    metadata = {"email": email} | ({"user_id": user_id} if user_id else {})
    previous: dict[str, Any] | None = None
    if event_name in st.PAYMENTS:
        price = _stripe_price(_key_for(tiers, tier, STRIPE), ids, cents, t) if tier else None
        obj = _stripe_invoice(ids, customer, sub_id, email, price, cents, metadata, t)
    else:
        assert tier is not None
        price = _stripe_price(_key_for(tiers, tier, STRIPE), ids, cents, t)
        obj = _stripe_subscription(ids, sub_id, customer, price, metadata, t)
        if event_name == st.SUBSCRIPTION_UPDATED:
            old_tier = from_tier.strip().lower() if from_tier else None
            if not old_tier or old_tier in (CANCELLED, tier):
                raise InputError(
                    f"{event_name} needs --from, a tier other than --to (a new subscription after a "
                    f"cancellation is {st.SUBSCRIPTION_CREATED})."
                )
            old_price = _stripe_price(_key_for(tiers, old_tier, STRIPE), ids, cents, t - 2_592_000)
            old = _stripe_subscription(ids, sub_id, customer, old_price, metadata, t - 2_592_000)
            previous = {"items": old["items"], "plan": old["plan"]}
        elif event_name == st.SUBSCRIPTION_DELETED:
            reason = {"comment": None, "feedback": "too_expensive", "reason": "cancellation_requested"}
            obj |= {"status": "canceled", "canceled_at": t, "ended_at": t, "cancellation_details": reason}
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": ids.stripe("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": t,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": ids.stripe("req", length=14), "idempotency_key": None},
        "type": event_name,
    }


def _stripe_price(key: str, ids: _Ids, cents: int, t: int) -> dict[str, Any]:
    price_id = key if key.startswith("price_") else "price_1" + ids.b62(f"price:{key}", 23)
    product = key if key.startswith("prod_") else "prod_" + ids.b62(f"prod:{key}", 14)
    lookup_key = None if key.startswith(("price_", "prod_")) else key
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": t - 7_776_000,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": {
            "aggregate_usage": None,
            "interval": "month",
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": cents,
        "unit_amount_decimal": str(cents),
    }


def _stripe_plan(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view Stripe still includes beside ``price``."""
    return {
        "id": price["id"],
        "object": "plan",
        "active": True,
        "aggregate_usage": None,
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _stripe_subscription(
    ids: _Ids, sub_id: str, customer: str, price: dict[str, Any], metadata: dict[str, str], t: int
) -> dict[str, Any]:
    item = {
        "id": "si_" + ids.b62(f"si:{sub_id}:{price['id']}", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": t,
        "discounts": [],
        "metadata": {},
        "plan": _stripe_plan(price),
        "price": price,
        "quantity": 1,
        "subscription": sub_id,
        "tax_rates": [],
    }
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": t,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": t,
        "currency": "usd",
        "current_period_end": t + 2_592_000,
        "current_period_start": t,
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": "pm_" + ids.b62(f"pm:{customer}", 24),
        "description": None,
        "discount": None,
        "discounts": [],
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": ids.stripe("in"),
        "livemode": False,
        "metadata": metadata,
        "pause_collection": None,
        "pending_update": None,
        "plan": _stripe_plan(price),
        "quantity": 1,
        "schedule": None,
        "start_date": t,
        "status": "active",
        "test_clock": None,
        "trial_end": None,
        "trial_start": None,
    }


def _stripe_invoice(
    ids: _Ids,
    customer: str,
    sub_id: str,
    email: str,
    price: dict[str, Any] | None,
    cents: int,
    metadata: dict[str, str],
    t: int,
) -> dict[str, Any]:
    invoice_id = ids.stripe("in")
    line = {
        "id": "il_" + ids.b62(f"il:{invoice_id}", 24),
        "object": "line_item",
        "amount": cents,
        "currency": "usd",
        "description": "1 × Subscription",
        "period": {"end": t + 2_592_000, "start": t},
        "price": price,
        "plan": _stripe_plan(price) if price else None,
        "proration": False,
        "quantity": 1,
        "subscription": sub_id,
        "type": "subscription",
    }
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": cents,
        "amount_paid": cents,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": t,
        "currency": "usd",
        "customer": customer,
        "customer_email": email,
        "customer_name": None,
        "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1},
        "livemode": False,
        "metadata": {},
        "number": ids.b62(f"num:{customer}", 8).upper() + "-0002",
        "paid": True,
        "period_end": t,
        "period_start": t - 2_592_000,
        "status": "paid",
        "status_transitions": {"finalized_at": t, "paid_at": t},
        "subscription": sub_id,
        "subscription_details": {"metadata": metadata},
        "subtotal": cents,
        "total": cents,
    }


# --- LemonSqueezy --------------------------------------------------------------------------------


def _uuid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ls_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _lemonsqueezy(
    event_name: str,
    tier: str | None,
    tiers: Mapping[str, str],
    ids: _Ids,
    email: str,
    user_id: str | None,
    amount: float,
    now: datetime,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "test_mode": True,
        "event_name": event_name,
        "webhook_id": _uuid(ids.call_seed),
    }
    if user_id:
        meta["custom_data"] = {"user_id": user_id}
    sub_id, customer_id = ids.ls("subscription"), ids.ls("customer")
    name = email.split("@")[0].replace(".", " ").title()
    base = "https://api.lemonsqueezy.com/v1"
    if event_name == ls.PAYMENT_SUCCESS:
        invoice_id = ids.ls("invoice", per_customer=False)
        cents = round(amount * 100)
        attrs = {
            "store_id": 31245,
            "subscription_id": sub_id,
            "customer_id": customer_id,
            "user_name": name,
            "user_email": email,
            "billing_reason": "renewal",
            "card_brand": "visa",
            "card_last_four": "4242",
            "currency": "USD",
            "currency_rate": "1.00000000",
            "status": "paid",
            "status_formatted": "Paid",
            "refunded": False,
            "refunded_at": None,
            "subtotal": cents,
            "discount_total": 0,
            "tax": 0,
            "total": cents,
            "subtotal_usd": cents,
            "discount_total_usd": 0,
            "tax_usd": 0,
            "total_usd": cents,
            "subtotal_formatted": f"${amount:,.2f}",
            "discount_total_formatted": "$0.00",
            "tax_formatted": "$0.00",
            "total_formatted": f"${amount:,.2f}",
            "urls": {"invoice_url": f"https://app.lemonsqueezy.com/my-orders/{invoice_id}/subscription-invoice"},
            "created_at": _ls_time(now),
            "updated_at": _ls_time(now),
            "test_mode": True,
        }
        data = {
            "type": "subscription-invoices",
            "id": str(invoice_id),
            "attributes": attrs,
            "links": {"self": f"{base}/subscription-invoices/{invoice_id}"},
        }
        return {"meta": meta, "data": data}

    assert tier is not None
    variant = _key_for(tiers, tier, LEMONSQUEEZY)
    status, cancelled, ends_at, pause = "active", False, None, None
    renews_at = _ls_time(now + timedelta(days=30))
    if event_name == ls.CANCELLED_EVENT:
        status, cancelled, ends_at = "cancelled", True, renews_at
    elif event_name == ls.EXPIRED:
        status, cancelled, ends_at = "expired", True, _ls_time(now)
    elif event_name == ls.PAUSED:
        status, pause = "paused", {"mode": "void", "resumes_at": None}
    attrs = {
        "store_id": 31245,
        "customer_id": customer_id,
        "order_id": ids.ls("order"),
        "order_item_id": ids.ls("order_item"),
        "product_id": ids.ls(f"product:{tier}", low=10_000, high=999_999),
        "variant_id": int(variant) if variant.isdigit() else variant,
        "product_name": "Subscription",
        "variant_name": tier.title(),
        "user_name": name,
        "user_email": email,
        "status": status,
        "status_formatted": status.replace("_", " ").title(),
        "card_brand": "visa",
        "card_last_four": "4242",
        "pause": pause,
        "cancelled": cancelled,
        "trial_ends_at": None,
        "billing_anchor": now.day,
        "first_subscription_item": {
            "id": ids.ls("subscription_item"),
            "subscription_id": sub_id,
            "price_id": ids.ls(f"price:{variant}"),
            "quantity": 1,
            "is_usage_based": False,
            "created_at": _ls_time(now),
            "updated_at": _ls_time(now),
        },
        "urls": {
            "update_payment_method": f"https://example.lemonsqueezy.com/subscription/{sub_id}/payment-details",
            "customer_portal": "https://example.lemonsqueezy.com/billing",
        },
        "renews_at": renews_at,
        "ends_at": ends_at,
        "created_at": _ls_time(now - timedelta(days=1)) if event_name != ls.CREATED else _ls_time(now),
        "updated_at": _ls_time(now),
        "test_mode": True,
    }
    relationships = {
        rel: {"links": {"related": f"{base}/subscriptions/{sub_id}/{rel}"}}
        for rel in ("store", "customer", "order", "order-item", "product", "variant", "subscription-items")
    }
    data = {
        "type": "subscriptions",
        "id": str(sub_id),
        "attributes": attrs,
        "relationships": relationships,
        "links": {"self": f"{base}/subscriptions/{sub_id}"},
    }
    return {"meta": meta, "data": data}
