"""Webhook signatures: HMAC-SHA256 verification (and signing, for `simulate` and tests).

Pure: the clock is the ``now`` argument. Comparisons are constant-time (``hmac.compare_digest``),
and no message ever contains the secret or the expected signature.

- Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``; v1 is the hex HMAC-SHA256 of
  ``"{t}.{raw body}"`` keyed by the endpoint secret (``whsec_…``, used as-is). Any v1 may match
  (Stripe sends several while a secret is being rolled). ``t`` must be within the tolerance of now,
  which stops a captured delivery from being replayed later.
- LemonSqueezy: ``X-Signature: <hex>``, the HMAC-SHA256 of the raw body keyed by the signing
  secret. No timestamp, so no replay window: deduplication by body hash does that job.
"""

from __future__ import annotations

import hashlib
import hmac

from mautic_ctl.errors import ConfigError, InputError

STRIPE_HEADER = "Stripe-Signature"
LEMONSQUEEZY_HEADER = "X-Signature"
DEFAULT_TOLERANCE_S = 300
_MAX_HEADER = 8192  # a real header is ~200 characters; refuse to parse megabytes of junk


class SignatureError(InputError):
    """The webhook signature is missing or does not match; nothing was recorded."""


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _require_secret(secret: str | None, what: str) -> str:
    # An empty key makes every signature forgeable: refuse it rather than "verify" with it.
    if not secret:
        raise ConfigError(f"no {what} is configured, so deliveries cannot be verified.")
    return secret


def sign_stripe(raw: bytes, secret: str, t: int) -> str:
    """The ``Stripe-Signature`` header value Stripe would send for this body at Unix time ``t``."""
    _require_secret(secret, "Stripe webhook secret")
    return f"t={t},v1={_hmac_hex(secret, str(t).encode() + b'.' + raw)}"


def verify_stripe(
    raw: bytes,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance_s: int | None = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a ``Stripe-Signature`` header against the raw body; return its timestamp ``t``.

    ``tolerance_s=None`` disables the timestamp check (for re-ingesting old payloads by hand).
    Raises SignatureError (an InputError) with one sentence saying which check failed.
    """
    _require_secret(secret, "Stripe webhook secret")
    if header is None or not header.strip():
        raise SignatureError("the Stripe-Signature header is missing.")
    if len(header) > _MAX_HEADER:
        raise SignatureError("the Stripe-Signature header is malformed (too long).")
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = value.strip()
        elif key == "v1":
            candidates.append(value.strip())
    if timestamp is None or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("the Stripe-Signature header is malformed: expected t=<unix time>,v1=<hex>.")
    if not candidates:
        raise SignatureError("the Stripe-Signature header has no v1 signature.")
    expected = _hmac_hex(secret, timestamp.encode() + b"." + raw).encode()
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace"))
    if not matched:
        raise SignatureError(
            "no v1 signature in the Stripe-Signature header matches the body "
            "(wrong webhook secret, or the body was changed on the way)."
        )
    t = int(timestamp)
    if tolerance_s is not None and not abs(now - t) <= tolerance_s:  # `not <=` also refuses a NaN clock
        raise SignatureError(
            f"the Stripe-Signature timestamp is {abs(now - t):.0f} s from now, beyond the "
            f"{tolerance_s} s tolerance (a replayed or long-delayed delivery)."
        )
    return t


def sign_lemonsqueezy(raw: bytes, secret: str) -> str:
    """The ``X-Signature`` header value LemonSqueezy would send for this body."""
    _require_secret(secret, "LemonSqueezy signing secret")
    return _hmac_hex(secret, raw)


def verify_lemonsqueezy(raw: bytes, header: str | None, secret: str) -> None:
    """Check an ``X-Signature`` header against the raw body; raise SignatureError if it differs."""
    _require_secret(secret, "LemonSqueezy signing secret")
    if header is None or not header.strip():
        raise SignatureError("the X-Signature header is missing.")
    if len(header) > _MAX_HEADER:
        raise SignatureError("the X-Signature header is malformed (too long).")
    expected = _hmac_hex(secret, raw).encode()
    if not hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace")):
        raise SignatureError(
            "the X-Signature header does not match the body (wrong signing secret, or the body was changed on the way)."
        )
