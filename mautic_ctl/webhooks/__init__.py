"""Stripe and LemonSqueezy subscription webhooks -> mautic-ctl lifecycle events.

Rooms, each with one job:

- ``signatures``: HMAC verification and signing of deliveries (pure).
- ``model``: ``ProviderConfig`` (secret, tier map, tolerance) and ``Normalised`` (what a delivery means).
- ``state``: the ``BillingState`` the normalisers read and remember (customer -> user, last known
  subscription shape), and an in-memory implementation.
- ``stripe`` / ``lemonsqueezy``: pure normalisation of one provider's payloads.
- ``delivery``: provider-independent entry points (verify, key, normalise, split an ingest input).
- ``recording``: the ``Recorder`` contract between the receiver and durable storage.
- ``server``: the Starlette receiver app.
- ``simulate``: realistic signed deliveries for `mautic-ctl simulate`.

Knows no SQL and no Mautic HTTP: the store records what these modules decide.
"""

from mautic_ctl.webhooks.delivery import (
    SIGNATURE_HEADERS,
    check_provider,
    delivery_key,
    normalise_delivery,
    parse_payload,
    split_deliveries,
    verify_signature,
)
from mautic_ctl.webhooks.model import LEMONSQUEEZY, PROVIDERS, STRIPE, Normalised, ProviderConfig
from mautic_ctl.webhooks.recording import Delivery, MemoryRecorder, Recorder, RecordOutcome, RecordStatus
from mautic_ctl.webhooks.signatures import (
    SignatureError,
    sign_lemonsqueezy,
    sign_stripe,
    verify_lemonsqueezy,
    verify_stripe,
)
from mautic_ctl.webhooks.simulate import SimulatedDelivery, simulate
from mautic_ctl.webhooks.state import BillingState, MemoryBillingState, SubscriptionRecord

__all__ = [
    "LEMONSQUEEZY",
    "PROVIDERS",
    "SIGNATURE_HEADERS",
    "STRIPE",
    "BillingState",
    "Delivery",
    "MemoryBillingState",
    "MemoryRecorder",
    "Normalised",
    "ProviderConfig",
    "RecordOutcome",
    "RecordStatus",
    "Recorder",
    "SignatureError",
    "SimulatedDelivery",
    "SubscriptionRecord",
    "check_provider",
    "delivery_key",
    "normalise_delivery",
    "parse_payload",
    "sign_lemonsqueezy",
    "sign_stripe",
    "simulate",
    "split_deliveries",
    "verify_lemonsqueezy",
    "verify_signature",
    "verify_stripe",
]
