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


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """The last known shape of one provider subscription (LemonSqueezy sends no "previous" values)."""

    variant: str  # the provider's variant / price id
    tier: str | None  # its tier per the map when it was seen
    status: str  # the provider's raw status (e.g. "active", "cancelled", "expired")
    updated_at: datetime  # the provider's updated_at: an older delivery must not overwrite this


@runtime_checkable
class BillingState(Protocol):
    """Reads and writes normalisation may make; all in the caller's transaction."""

    def user_for_customer(self, provider: str, customer_id: str) -> str | None:
        """The product user id remembered for this provider customer, else None."""
        ...

    def remember_customer(self, provider: str, customer_id: str, user_id: str) -> None:
        """Map a provider customer to a product user (replacing an older mapping)."""
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
        self.customers: dict[tuple[str, str], str] = {}
        self.emails: dict[str, str] = {}  # lower-cased email -> user id
        self.tiers: dict[str, str] = {}  # user id -> tier
        self.subscriptions: dict[tuple[str, str], SubscriptionRecord] = {}
        self.lock = threading.RLock()  # held by MemoryRecorder around one whole delivery

    def add_user(self, user_id: str, *, email: str | None = None, tier: str | None = None) -> None:
        """Make a product user known, as the product's own signup would."""
        if email:
            self.emails[email.lower()] = user_id
        if tier:
            self.tiers[user_id] = tier

    def user_for_customer(self, provider: str, customer_id: str) -> str | None:
        return self.customers.get((provider, customer_id))

    def remember_customer(self, provider: str, customer_id: str, user_id: str) -> None:
        self.customers[(provider, customer_id)] = user_id

    def user_for_email(self, email: str) -> str | None:
        return self.emails.get(email.lower())

    def known_tier(self, user_id: str) -> str | None:
        return self.tiers.get(user_id)

    def subscription(self, provider: str, subscription_id: str) -> SubscriptionRecord | None:
        return self.subscriptions.get((provider, subscription_id))

    def remember_subscription(self, provider: str, subscription_id: str, record: SubscriptionRecord) -> None:
        self.subscriptions[(provider, subscription_id)] = record
