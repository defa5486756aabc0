"""One webhook delivery, whichever provider sent it: its key, its signature, what it means.

The entry points the CLI (`ingest`), the HTTP receiver and the store's recorder call, so none of
them needs to know which provider module does what. Pure: the clock is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from mautic_ctl.errors import InputError
from mautic_ctl.events import Vocabulary, decode_json_line
from mautic_ctl.webhooks import lemonsqueezy, stripe
from mautic_ctl.webhooks.model import LEMONSQUEEZY, PROVIDERS, STRIPE, Normalised, ProviderConfig
from mautic_ctl.webhooks.signatures import (
    LEMONSQUEEZY_HEADER,
    STRIPE_HEADER,
    SignatureError,
    verify_lemonsqueezy,
    verify_stripe,
)
from mautic_ctl.webhooks.state import BillingState

SIGNATURE_HEADERS = {STRIPE: STRIPE_HEADER, LEMONSQUEEZY: LEMONSQUEEZY_HEADER}
"""The header each provider signs its deliveries in."""


def check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise InputError(f"unknown billing provider {provider!r}; use one of: {', '.join(PROVIDERS)}.")
    return provider


def verify_signature(provider: str, raw: bytes, header: str | None, cfg: ProviderConfig, *, now: float) -> None:
    """Verify ``header`` (the value of SIGNATURE_HEADERS[provider]) over the raw body.

    Raises SignatureError (an InputError) when it does not verify, and ConfigError when no secret
    is configured: an unverifiable delivery is refused, never trusted.
    """
    check_provider(provider)
    if provider == STRIPE:
        verify_stripe(raw, header, cfg.secret or "", now=now, tolerance_s=cfg.tolerance_s)
    else:
        verify_lemonsqueezy(raw, header, cfg.secret or "")


def parse_payload(raw: bytes) -> object:
    """The decoded JSON body of one delivery (InputError if it is not JSON)."""
    return decode_json_line(raw, "the webhook body")


def delivery_key(provider: str, payload: object, raw: bytes) -> str:
    """The dedupe key of a delivery without normalising it: Stripe's ``evt_…``, or ``ls-<sha256>``.

    The recorder checks it before normalising, so a redelivery touches no state at all.
    """
    if check_provider(provider) == STRIPE:
        return stripe.delivery_id(payload)
    if not isinstance(payload, dict):
        raise InputError("a LemonSqueezy webhook body must be a JSON object with meta and data.")
    return lemonsqueezy.delivery_id(raw)


def customer_key(provider: str, payload: object) -> str | None:
    """The provider customer a delivery is about (``cus_…``, a LemonSqueezy customer number), or None.

    A waiting delivery is filed under it, and a later delivery of the same customer wakes it."""
    from mautic_ctl.webhooks.common import as_dict, as_id

    if provider == LEMONSQUEEZY:
        return as_id(as_dict(as_dict(as_dict(payload).get("data")).get("attributes")).get("customer_id"))
    if as_dict(payload).get("type") in (stripe.CUSTOMER_CREATED, stripe.CUSTOMER_UPDATED):  # the customer itself
        return as_id(as_dict(as_dict(as_dict(payload).get("data")).get("object")).get("id"))
    return stripe.stripe_customer_of(payload)


def normalise_delivery(
    provider: str,
    payload: object,
    raw: bytes,
    configs: Mapping[str, ProviderConfig],
    vocab: Vocabulary,
    state: BillingState,
    now: datetime,
) -> Normalised:
    """What a verified delivery means: an event, an ignored delivery, or a dead one with a reason.

    Raises InputError only when the body is not a webhook of that provider at all (then there is
    no key to record it under); anything else that is wrong makes a ``dead`` result instead.
    ``state`` must be bound to the transaction that records the result.
    """
    cfg = configs.get(check_provider(provider)) or ProviderConfig()
    module = stripe if provider == STRIPE else lemonsqueezy
    return module.normalise(payload, raw, cfg, vocab, state, now=now)


def split_deliveries(raw: bytes) -> list[tuple[bytes, object]]:
    """The deliveries in an `ingest` input: (raw body, decoded payload) pairs.

    A single JSON document (pretty-printed, as `stripe events retrieve` prints it) is one
    delivery with its bytes as they are, so its signature and body hash still match. Otherwise the
    input is JSONL, one delivery per line. A JSON array is taken as a list of deliveries, each
    re-encoded compactly (an array is never a delivery body, so there is no original to keep).
    """
    try:
        whole = json.loads(raw)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError):
        whole = None
    if isinstance(whole, dict):
        return [(raw, whole)]
    out: list[tuple[bytes, object]] = []
    if isinstance(whole, list):
        for number, item in enumerate(whole, start=1):
            if not isinstance(item, dict):
                raise InputError(f"item {number}: each delivery must be a JSON object.")
            out.append((json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode(), item))
    else:
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            value = decode_json_line(line, f"line {number}")
            if not isinstance(value, dict):
                raise InputError(f"line {number}: each delivery must be a JSON object.")
            out.append((line.strip(), value))
    if not out:
        raise InputError("the input holds no webhook delivery.")
    return out


__all__ = [
    "SIGNATURE_HEADERS",
    "SignatureError",
    "check_provider",
    "customer_key",
    "delivery_key",
    "normalise_delivery",
    "parse_payload",
    "split_deliveries",
    "verify_signature",
]
