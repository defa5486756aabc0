"""[stripe] api_key: an unknown customer is looked up through the official `stripe` library; its HTTP is
mocked with respx (never the network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from mautic_ctl.events import EventKind
from mautic_ctl.services.billing import SqliteRecorder
from mautic_ctl.store import connect
from mautic_ctl.stripe_api import customer_lookup
from mautic_ctl.webhooks import Delivery, ProviderConfig, RecordStatus

PRICE, CUSTOMER = "price_1SAFNkBe0ycHroRBidLX2jgZ", "cus_T66xzarl5v73XN"
URL = f"https://api.stripe.com/v1/customers/{CUSTOMER}"


@pytest.fixture
def delivery(load):
    payload, _ = load("stripe", "basil/customer.subscription.updated")
    payload["livemode"] = True
    raw = json.dumps(payload).encode()
    return Delivery("stripe", raw, payload, datetime.now(UTC))


def recorder(tmp_path, vocab) -> SqliteRecorder:
    configs = {"stripe": ProviderConfig("whsec_x", {PRICE: "pro"}), "lemonsqueezy": ProviderConfig()}
    return SqliteRecorder(tmp_path / "q.db", configs, vocab, lookup=customer_lookup("rk_test_lookup"))


@respx.mock(assert_all_called=True)
def test_unknown_customer_is_looked_up_and_the_delivery_recorded(respx_mock, tmp_path, vocab, delivery):
    """The customer's email and metadata.user_id come from Customers retrieve: a signup, not a wait."""
    customer = {"id": CUSTOMER, "object": "customer", "email": "looked@example.com", "metadata": {"user_id": "u_l"}}
    route = respx_mock.get(URL).mock(return_value=httpx.Response(200, json=customer))
    rec = recorder(tmp_path, vocab)
    try:
        outcome = rec.record(delivery)
    finally:
        rec.close()
    assert outcome.status is RecordStatus.RECORDED
    assert route.calls.last.request.headers["authorization"] == "Bearer rk_test_lookup"
    conn = connect(tmp_path / "q.db")
    payload = json.loads(conn.execute("SELECT payload FROM events").fetchone()[0])
    conn.close()
    assert (payload["kind"], payload["user_id"], payload["email"]) == (EventKind.SIGNUP, "u_l", "looked@example.com")


@respx.mock(assert_all_called=True)
def test_a_failed_lookup_leaves_the_delivery_waiting(respx_mock, tmp_path, vocab, delivery):
    """Stripe answering 404 (or being down): logged, and the delivery waits as it would without a key."""
    respx_mock.get(URL).mock(
        return_value=httpx.Response(
            404, json={"error": {"type": "invalid_request_error", "message": "No such customer"}}
        )
    )
    rec = recorder(tmp_path, vocab)
    try:
        assert rec.record(delivery).status is RecordStatus.WAITING
    finally:
        rec.close()
