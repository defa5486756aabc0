"""Fixtures for the webhook normalisers: the configured vocabulary, tier maps and payload files.

The payload files under fixtures/ follow the providers' documented shapes (Stripe Event +
Subscription/Invoice objects, API 2024-06-20; LemonSqueezy JSON:API webhook bodies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mautic_ctl.events import FieldSpec, FieldType, Vocabulary
from mautic_ctl.webhooks import MemoryBillingState, ProviderConfig

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2025, 1, 1, 10, 5, tzinfo=UTC)

STRIPE_TIERS = {
    "price_1PgWzZLkdIwHu7ixBasicMo": "basic",  # by price id
    "pro_monthly": "pro",  # by lookup_key
    "prod_QXvEntrpr1se01": "enterprise",  # by product id
}
LEMONSQUEEZY_TIERS = {"301111": "basic", "301222": "pro", "201999": "enterprise"}


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def vocab() -> Vocabulary:
    fields = {
        "subscription_tier": FieldSpec("subscription_tier"),
        "subscription_status": FieldSpec("subscription_status"),
        "signup_date": FieldSpec("signup_date", FieldType.DATE),
        "last_login": FieldSpec("last_login", FieldType.DATETIME),
        "lifetime_value": FieldSpec("lifetime_value", FieldType.NUMBER),
    }
    return Vocabulary(tiers=("free", "basic", "pro", "enterprise"), fields=fields)


@pytest.fixture
def stripe_cfg() -> ProviderConfig:
    # The fixtures are test-mode events (livemode false), as Stripe's test mode sends them.
    return ProviderConfig(secret="whsec_test_5f1c2d3e4a", tiers=STRIPE_TIERS, accept_test_mode=True)


@pytest.fixture
def ls_cfg() -> ProviderConfig:
    return ProviderConfig(secret="ls-signing-secret-7b9", tiers=LEMONSQUEEZY_TIERS, accept_test_mode=True)


@pytest.fixture
def state() -> MemoryBillingState:
    return MemoryBillingState()


@pytest.fixture
def load() -> Callable[[str, str], tuple[dict[str, Any], bytes]]:
    """load(provider, name) -> (payload, raw body bytes) of a fixture file."""

    def _load(provider: str, name: str) -> tuple[dict[str, Any], bytes]:
        raw = (FIXTURES / provider / f"{name}.json").read_bytes()
        return json.loads(raw), raw

    return _load
