"""The optional Stripe API lookup (``[stripe] api_key``): who an unknown customer is.

The one place mautic-ctl talks to Stripe's API, through the official ``stripe`` library (the
Customers retrieve call, ``Customer.retrieve`` in its legacy form), so retries, API versions and
errors are the library's business. Its httpx transport is used (bounded by a timeout, and what the
tests mock with respx). Any failure is logged and answered with None: the delivery then waits for a
linking event, as it would without a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mautic_ctl.errors import ConfigError

log = logging.getLogger(__name__)


def customer_lookup(api_key: str) -> Callable[[str], dict[str, Any] | None]:
    """A function fetching one customer (as a plain dict) with ``api_key``, or None if it cannot."""
    try:
        import stripe
    except ImportError:
        raise ConfigError(
            "[stripe] api_key needs the stripe library: pip install 'mautic-ctl[stripe]' (or unset api_key)."
        ) from None

    client = stripe.StripeClient(
        api_key, http_client=stripe.HTTPXClient(timeout=10, allow_sync_methods=True), max_network_retries=2
    )

    def fetch(customer_id: str) -> dict[str, Any] | None:
        try:
            customer = client.v1.customers.retrieve(customer_id)
        except stripe.StripeError as exc:
            log.warning("could not look up Stripe customer %s: %s", customer_id, exc.user_message or type(exc).__name__)
            return None
        return customer.to_dict()

    return fetch
