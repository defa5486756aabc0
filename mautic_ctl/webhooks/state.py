"""The little state normalising a billing webhook needs, as an interface plus an in-memory version.

Billing payloads do not say everything: a Stripe subscription names a customer id, not our user;
a LemonSqueezy update shows the new variant but not the old one. :class:`BillingState` is what the
normalisers may ask and remember. The store implements it on SQLite, bound to the transaction that
records the delivery, so what is remembered commits together with what is recorded (or not at all).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

# How a link was learned, strongest first. An explicit id (metadata.user_id, custom_data.user_id,
# a Stripe customer's metadata) and Stripe Checkout's client_reference_id are the product's own
# word; "remembered" is what an earlier event resolved; "email" only says who pays.
VIA_EXPLICIT = "explicit"
VIA_CHECKOUT = "checkout"
VIA_REMEMBERED = "remembered"
CUSTOMER = "customer"
SUBSCRIPTION = "subscription"


@dataclass(frozen=True, slots=True)
class Link:
    """What is known of one provider customer or subscription: its user and/or its email."""

    user_id: str | None
    email: str | None
    via: str | None  # how user_id was learned (VIA_*), None when only the email is known


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """The last recorded snapshot of one provider subscription, to order later deliveries against."""

    variant: str  # the provider's variant / price id
    tier: str | None  # its tier per the map when it was seen
    status: str  # the provider's raw status (e.g. "active", "cancelled", "expired")
    updated_at: datetime  # the event's time (Stripe `created`, LemonSqueezy updated_at)
    clock: int = 0  # the object's own latest timestamp: orders two events of the same second
    delivery_id: str | None = None  # the delivery this snapshot came from ("superseded by …")


@runtime_checkable
class BillingState(Protocol):
    """Reads and writes normalisation may make; all in the caller's transaction."""

    def link(self, provider: str, kind: str, external_id: str) -> Link | None:
        """What is known of a provider customer or subscription (kind CUSTOMER / SUBSCRIPTION)."""
        ...

    def remember_link(
        self, provider: str, kind: str, external_id: str, *, user_id: str | None, email: str | None, via: str | None
    ) -> None:
        """Store a link; None values keep what was known (the caller decides precedence)."""
        ...

    def known_email(self, user_id: str) -> str | None:
        """The email the product (or an applied event) gave this user, else None."""
        ...

    def user_for_email(self, email: str) -> str | None:
        """The product user already known with this email (case-insensitive), else None."""
        ...

    def known_tier(self, user_id: str) -> str | None:
        """The user's current tier per our mirror (a tier or "cancelled"); None if we never saw them."""
        ...

    def subscription(self, provider: str, subscription_id: str) -> SubscriptionRecord | None:
        """The remembered shape of a subscription, else None."""
        ...

    def remember_subscription(self, provider: str, subscription_id: str, record: SubscriptionRecord) -> None:
        """Store the latest shape of a subscription (replacing the previous one)."""
        ...


class MemoryBillingState:
    """A BillingState in dictionaries: for tests, `simulate`, and as the reference of the contract."""

    def __init__(self) -> None:
        self.links: dict[tuple[str, str, str], Link] = {}
        self.user_emails: dict[str, str] = {}  # user id -> email
        self.emails: dict[str, str] = {}  # lower-cased email -> user id
        self.tiers: dict[str, str] = {}  # user id -> tier
        self.subscriptions: dict[tuple[str, str], SubscriptionRecord] = {}
        self.lock = threading.RLock()  # held by MemoryRecorder around one whole delivery

    def add_user(self, user_id: str, *, email: str | None = None, tier: str | None = None) -> None:
        """Make a product user known, as the product's own signup would."""
        if email:
            self.emails[email.lower()] = user_id
            self.user_emails[user_id] = email
        if tier:
            self.tiers[user_id] = tier

    def link(self, provider: str, kind: str, external_id: str) -> Link | None:
        return self.links.get((provider, kind, external_id))

    def remember_link(
        self, provider: str, kind: str, external_id: str, *, user_id: str | None, email: str | None, via: str | None
    ) -> None:
        old = self.links.get((provider, kind, external_id)) or Link(None, None, None)
        self.links[(provider, kind, external_id)] = Link(
            user_id or old.user_id, email or old.email, via if user_id else old.via
        )

    def known_email(self, user_id: str) -> str | None:
        return self.user_emails.get(user_id)

    def user_for_email(self, email: str) -> str | None:
        return self.emails.get(email.lower())

    def known_tier(self, user_id: str) -> str | None:
        return self.tiers.get(user_id)

    def subscription(self, provider: str, subscription_id: str) -> SubscriptionRecord | None:
        return self.subscriptions.get((provider, subscription_id))

    def remember_subscription(self, provider: str, subscription_id: str, record: SubscriptionRecord) -> None:
        self.subscriptions[(provider, subscription_id)] = record
