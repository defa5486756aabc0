"""What a billing webhook delivery turns into, and the per-provider settings it is read with.

Plain frozen dataclasses, no I/O. The normalisers (``stripe.py``, ``lemonsqueezy.py``) return a
:class:`Normalised`; the recorder (SQLite, written elsewhere) stores it in the same transaction as
the delivery, so a webhook is acknowledged only once what it means is durable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mautic_ctl.events import Event

STRIPE = "stripe"
LEMONSQUEEZY = "lemonsqueezy"
PROVIDERS = (STRIPE, LEMONSQUEEZY)

# Values written to the `subscription_status` field. One vocabulary for both providers, so a Mautic
# segment built on the field does not care where the customer pays. "active" and "cancelled" are the
# strings the lifecycle rules write themselves.
STATUS_ACTIVE = "active"
STATUS_TRIALING = "trialing"
STATUS_PAST_DUE = "past_due"  # a renewal payment failed; the provider is retrying
STATUS_UNPAID = "unpaid"  # retries exhausted, subscription kept but not paid
STATUS_PAUSED = "paused"
STATUS_INCOMPLETE = "incomplete"  # Stripe: first payment not yet confirmed
STATUS_CANCEL_SCHEDULED = "cancel_scheduled"  # cancelled, but paid up until the period ends: not churn
STATUS_CANCELLED = "cancelled"  # ended: the churn itself

STATUS_FIELD = "subscription_status"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One billing provider's settings, as the lead's settings hand them over.

    ``tiers`` maps a provider id (Stripe price id, lookup_key or product id; LemonSqueezy variant
    id or product id) to a tier name. ``tolerance_s`` bounds how old a Stripe signature may be.
    """

    secret: str | None = field(default=None, repr=False)  # never printed, never in a message
    tiers: Mapping[str, str] = field(default_factory=dict)
    tolerance_s: int = 300
    accept_test_mode: bool = False  # [billing] accept_test_mode: test-mode events change contacts too
    email_from_billing: bool = False  # [billing] email_from_billing: a billing email replaces the product's

    def tier_for(self, *keys: str | None) -> str | None:
        """The tier of the first key the map knows (keys in order of precedence), else None."""
        for key in keys:
            if key is not None and key in self.tiers:
                return str(self.tiers[key]).strip().lower()
        return None


@dataclass(frozen=True, slots=True)
class Normalised:
    """What one verified delivery means; exactly one of ``event``, ``ignored``, ``superseded``,
    ``waiting`` and ``dead`` is set.

    - ``event``: a validated lifecycle event to enqueue.
    - ``ignored``: why the delivery changes nothing (an event type we do not track, a no-op update,
      a test-mode event). The caller still records it, so a redelivery is recognised as a duplicate.
    - ``superseded``: an older snapshot of a subscription than one already recorded (``superseded_by``
      names that delivery); kept visible, never applied over the newer one.
    - ``waiting``: the user cannot be found yet (a Stripe customer nobody linked). The caller keeps
      the body and re-reads it when a linking event arrives, or buries it after the wait window.
    - ``dead``: why the delivery cannot become an event (a link conflict, a price missing from the
      tier map). The caller records it as dead for an operator, never drops it.

    ``learned`` says the delivery taught a customer/subscription -> user (or email) link, so
    waiting deliveries of the provider are worth re-reading.
    """

    provider: str
    delivery_id: str  # the dedupe key: Stripe evt_… id, or ls-<sha256 of the raw body>
    event_type: str  # Stripe `type` / LemonSqueezy `meta.event_name`, as sent
    event: Event | None = None
    ignored: str | None = None
    dead: str | None = None
    occurred_at: datetime | None = None  # when the provider says it happened (also for ignored/dead)
    waiting: str | None = None
    superseded: str | None = None
    superseded_by: str | None = None
    learned: bool = False

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.event, self.ignored, self.dead, self.waiting, self.superseded)) != 1:
            raise ValueError("Normalised needs exactly one of event, ignored, superseded, waiting or dead")

    @property
    def outcome(self) -> str:
        """``event``, ``ignored``, ``superseded``, ``waiting`` or ``dead``."""
        if self.event is not None:
            return "event"
        for name in ("ignored", "superseded", "waiting"):
            if getattr(self, name) is not None:
                return name
        return "dead"

    @property
    def reason(self) -> str | None:
        return self.ignored or self.superseded or self.waiting or self.dead
