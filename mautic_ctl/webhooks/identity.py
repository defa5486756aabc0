"""Who a billing delivery is about: one precedence for both providers. Pure over a BillingState.

A subscription event names a provider customer (``cus_…``, a LemonSqueezy customer number), often
no email, and sometimes the product's own user id. In order of trust:

1. an explicit id on this delivery: Stripe subscription ``metadata.user_id``, then the customer's
   ``metadata.user_id``; LemonSqueezy ``meta.custom_data.user_id``;
2. a link Stripe Checkout taught (``client_reference_id`` of ``checkout.session.completed``);
3. a link an earlier delivery resolved (remembered customer / subscription -> user);
4. a product user with the email the payload (or the customer's remembered record) carries.

A subscription already linked to one user never silently moves to another: that is a conflict,
reported with both ids. Nothing found is not an error yet: the delivery waits for a linking event.
"""

from __future__ import annotations

from dataclasses import dataclass

from mautic_ctl.webhooks.state import (
    CUSTOMER,
    SUBSCRIPTION,
    VIA_CHECKOUT,
    VIA_EXPLICIT,
    VIA_REMEMBERED,
    BillingState,
    Link,
)

_RANK = {VIA_EXPLICIT: 3, VIA_CHECKOUT: 2, VIA_REMEMBERED: 1}


@dataclass(frozen=True, slots=True)
class Claim:
    """What one delivery says about its user."""

    explicit_user: str | None = None  # metadata.user_id / custom_data.user_id on the delivery
    customer_user: str | None = None  # the (expanded) customer's own metadata.user_id
    customer_id: str | None = None
    subscription_id: str | None = None
    email: str | None = None  # an email the payload itself carries


@dataclass(frozen=True, slots=True)
class Who:
    """The resolution: a user (with how it was found), or why not; ``email`` is the best email known."""

    user_id: str | None
    email: str | None
    via: str | None = None
    conflict: str | None = None


def resolve(provider: str, claim: Claim, state: BillingState) -> Who:
    customer = state.link(provider, CUSTOMER, claim.customer_id) if claim.customer_id else None
    subscription = state.link(provider, SUBSCRIPTION, claim.subscription_id) if claim.subscription_id else None
    email = claim.email or (customer.email if customer else None)
    candidates: list[tuple[int, str, str]] = []
    if claim.explicit_user:
        candidates.append((5, claim.explicit_user, VIA_EXPLICIT))
    if claim.customer_user:
        candidates.append((4, claim.customer_user, VIA_EXPLICIT))
    for link in (subscription, customer):
        if link is not None and link.user_id and link.via:
            candidates.append((_RANK.get(link.via, 0), link.user_id, link.via))
    if not candidates and email:
        by_email = state.user_for_email(email)
        if by_email:
            candidates.append((0, by_email, VIA_REMEMBERED))
    if not candidates:
        return Who(None, email)
    _, user_id, via = max(candidates, key=lambda c: c[0])
    if subscription is not None and subscription.user_id and subscription.user_id != user_id:
        return Who(
            user_id,
            email,
            via,
            conflict=(
                f"subscription {claim.subscription_id} belongs to user {subscription.user_id!r}, but this "
                f"delivery names user {user_id!r}: a link never moves a subscription to another user. Check "
                "the subscription's metadata.user_id in the provider's dashboard, then `mautic-ctl webhook retry`."
            ),
        )
    return Who(user_id, email, via)


def remember(provider: str, claim: Claim, who: Who, state: BillingState) -> None:
    """Keep what this delivery resolved, never weakening a stronger link of the customer."""
    if who.user_id is None or who.conflict:
        return
    via = who.via or VIA_REMEMBERED
    if claim.subscription_id:
        old = state.link(provider, SUBSCRIPTION, claim.subscription_id)
        if old is None or old.user_id != who.user_id:
            state.remember_link(provider, SUBSCRIPTION, claim.subscription_id, user_id=who.user_id, email=None, via=via)
    if claim.customer_id:
        old = state.link(provider, CUSTOMER, claim.customer_id) or Link(None, None, None)
        stronger = _RANK.get(via, 0) >= _RANK.get(old.via or "", 0)
        if (old.user_id != who.user_id and (stronger or old.user_id is None)) or (claim.email and not old.email):
            state.remember_link(
                provider,
                CUSTOMER,
                claim.customer_id,
                user_id=who.user_id if stronger or old.user_id is None else None,
                email=claim.email,
                via=via if stronger or old.user_id is None else None,
            )


def contact_email(who: Who, state: BillingState, *, email_from_billing: bool) -> str | None:
    """The email an event may carry: the product's email wins, a billing email only fills a gap."""
    if who.user_id is None or who.email is None or email_from_billing:
        return who.email
    known = state.known_email(who.user_id)
    return who.email if known is None else None
