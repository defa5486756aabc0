"""The HTTP receiver end to end: signed deliveries in, recorded (or refused) exactly as answered."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn

from mautic_ctl.events import FieldSpec, FieldType, Vocabulary
from mautic_ctl.webhooks import (
    Delivery,
    MemoryRecorder,
    ProviderConfig,
    sign_lemonsqueezy,
    sign_stripe,
    simulate,
)
from mautic_ctl.webhooks.server import create_webhook_app

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "product-events-token-1f2e"
VOCAB = Vocabulary(
    tiers=("free", "basic", "pro"),
    fields={
        "subscription_tier": FieldSpec("subscription_tier"),
        "subscription_status": FieldSpec("subscription_status"),
        "lifetime_value": FieldSpec("lifetime_value", FieldType.NUMBER),
    },
)
STRIPE = ProviderConfig("whsec_int_9d8c7b", {"price_1PgWzZLkdIwHu7ixBasicMo": "basic", "pro_monthly": "pro"})
LEMONSQUEEZY = ProviderConfig("ls_int_signing_5a4b", {"301111": "basic", "301222": "pro"})


class ObservedRecorder(MemoryRecorder):
    """A MemoryRecorder that takes a little time, like SQLite, and counts overlapping calls."""

    def __init__(self, *args, delay: float = 0.002, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.delay, self.in_flight, self.peak = delay, 0, 0
        self._count = threading.Lock()

    def record(self, delivery: Delivery):
        with self._count:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)  # outside the "transaction": concurrent requests overlap here
            return super().record(delivery)
        finally:
            with self._count:
                self.in_flight -= 1


@pytest.fixture
def recorder():
    rec = ObservedRecorder({"stripe": STRIPE, "lemonsqueezy": LEMONSQUEEZY}, VOCAB)
    for i in range(100):
        rec.state.add_user(f"u{i}", email=f"user{i}@example.com", tier="free")
    return rec


def make_app(recorder, **kwargs):
    options = {
        "stripe": STRIPE,
        "lemonsqueezy": LEMONSQUEEZY,
        "events_token": TOKEN,
        "recorder": recorder,
        "vocab": VOCAB,
        "clock": lambda: NOW.timestamp(),
    }
    return create_webhook_app(**(options | kwargs))


def delivery_for(i: int, *, secret: str | None = None, at: datetime = NOW):
    """A distinct signed delivery per i: even i Stripe upgrades, odd i LemonSqueezy signups."""
    if i % 2 == 0:
        cfg, provider, event = STRIPE, "stripe", "customer.subscription.updated"
        frm, to = "basic", "pro"
    else:
        cfg, provider, event = LEMONSQUEEZY, "lemonsqueezy", "subscription_created"
        frm, to = None, "basic"
    sim = simulate(
        provider,
        event,
        email=f"user{i}@example.com",
        from_tier=frm,
        to_tier=to,
        secret=secret or cfg.secret,
        tiers=cfg.tiers,
        now=at,
    )
    return f"/webhooks/{provider}", sim.body, sim.headers


def send(app, requests):
    """POST every (path, body, headers) concurrently through the ASGI app; the responses in order."""

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mautic-ctl.test") as client:
            return await asyncio.gather(
                *(client.post(path, content=body, headers=headers) for path, body, headers in requests)
            )

    return asyncio.run(go())


def test_hundred_concurrent_deliveries_all_recorded(recorder):
    """100 concurrent signed deliveries (both providers): 100 answered 200 and 100 events recorded."""
    responses = send(make_app(recorder), [delivery_for(i) for i in range(100)])
    assert [r.status_code for r in responses] == [200] * 100
    assert {r.json()["status"] for r in responses} == {"recorded"}
    assert len(recorder.events) == 100
    assert {e.user_id for e in recorder.events.values()} == {f"u{i}" for i in range(100)}
    assert {r.json()["event_id"] for r in responses} == set(recorder.events)
    assert recorder.peak > 1  # the requests really overlapped


def test_concurrent_redeliveries_recorded_once(recorder):
    """Each of 50 deliveries sent twice at once: 50 recorded, 50 duplicates, nothing lost or doubled."""
    requests = [delivery_for(i) for i in range(50)]
    responses = send(make_app(recorder), requests + requests)
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("recorded") == 50 and statuses.count("duplicate") == 50
    assert len(recorder.events) == 50


def test_forged_delivery_rejected_and_nothing_recorded(recorder):
    """A delivery signed with another secret is answered 400 and leaves no trace."""
    path, body, headers = delivery_for(0, secret="whsec_attacker")
    forged_ls = delivery_for(1, secret="attacker")
    responses = send(make_app(recorder), [(path, body, headers), forged_ls])
    assert [r.status_code for r in responses] == [400, 400]
    assert "matches the body" in responses[0].json()["error"]
    assert "does not match the body" in responses[1].json()["error"]
    assert recorder.deliveries == {} and recorder.events == {}


@pytest.mark.parametrize("case", ["tampered", "missing", "expired", "not-json"])
def test_bad_signature_or_body_is_400_nothing_recorded(recorder, case):
    """Tampered body, missing header, expired timestamp, or signed non-JSON: 400, nothing recorded."""
    path, body, headers = delivery_for(0)
    if case == "tampered":
        body = body.replace(b'"pro_monthly"', b'"team_monthly"')
    elif case == "missing":
        headers = {k: v for k, v in headers.items() if k != "Stripe-Signature"}
    elif case == "expired":
        path, body, headers = delivery_for(0, at=NOW - timedelta(minutes=10))
    else:
        body = b"{not json"
        headers = {"Stripe-Signature": sign_stripe(body, STRIPE.secret, int(NOW.timestamp()))}
    (response,) = send(make_app(recorder), [(path, body, headers)])
    assert response.status_code == 400, response.text
    assert recorder.deliveries == {}


def test_recorder_failure_is_503_and_retry_succeeds(recorder):
    """If the delivery cannot be stored the answer is 503 (sender retries); the retry is then recorded."""
    app = make_app(recorder)
    recorder.fail_with = OSError("database is locked")
    (failed,) = send(app, [delivery_for(0)])
    assert failed.status_code == 503 and "retry" in failed.json()["error"]
    assert recorder.events == {}
    recorder.fail_with = None
    (retried,) = send(app, [delivery_for(0)])
    assert retried.status_code == 200 and retried.json()["status"] == "recorded"


def test_ignored_and_waiting_deliveries_are_acknowledged(recorder):
    """Recorded as ignored or waiting is still stored: answered 200 with that status (no endless retries)."""
    ls = LEMONSQUEEZY
    unknown = simulate(
        "lemonsqueezy",
        "subscription_created",
        email="stranger@example.com",
        from_tier=None,
        to_tier="pro",
        secret=ls.secret,
        tiers=ls.tiers,
        now=NOW,
    )
    payload = json.loads(unknown.body)
    payload["meta"]["event_name"] = "order_refunded"
    body = json.dumps(payload).encode()
    ignored = ("/webhooks/lemonsqueezy", body, {"X-Signature": sign_lemonsqueezy(body, ls.secret)})
    waiting = ("/webhooks/lemonsqueezy", unknown.body, unknown.headers)
    responses = send(make_app(recorder), [ignored, waiting])
    assert [(r.status_code, r.json()["status"]) for r in responses] == [(200, "ignored"), (200, "waiting")]
    assert "no product user" in responses[1].json()["reason"]


def test_unconfigured_provider_is_503(recorder):
    """A provider without a secret answers 503 so its deliveries wait at the sender, never unverified."""
    app = make_app(recorder, lemonsqueezy=ProviderConfig(None, LEMONSQUEEZY.tiers))
    (response,) = send(app, [delivery_for(1)])
    assert response.status_code == 503
    assert recorder.deliveries == {}


def test_body_over_limit_is_413(recorder):
    """A body above 1 MiB is refused with 413 before verification."""
    big = b'{"id":"evt_1","pad":"' + b"x" * 1_100_000 + b'"}'
    (response,) = send(make_app(recorder), [("/webhooks/stripe", big, {"Stripe-Signature": "t=1,v1=00"})])
    assert response.status_code == 413


def test_on_recorded_called_for_new_events_only(recorder):
    """The background hook runs for each newly recorded event, not for a duplicate."""
    seen = []
    app = make_app(recorder, on_recorded=lambda outcome: seen.append(outcome.event_id))
    first = send(app, [delivery_for(0)])[0].json()["event_id"]
    send(app, [delivery_for(0)])
    assert seen == [first]


# --- POST /events ----------------------------------------------------------------------------------


def events_request(body, token: str | None = TOKEN, scheme: str = "Bearer"):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return ("/events", body if isinstance(body, bytes) else json.dumps(body).encode(), headers)


SIGNUP = {"type": "signup", "user_id": "u_app_1", "email": "new@example.com", "event_id": "app-evt-1"}


@pytest.mark.parametrize(
    ("token", "scheme"), [(None, "Bearer"), ("wrong-token", "Bearer"), (TOKEN, "Basic"), (TOKEN[:-1], "Bearer")]
)
def test_events_bad_bearer_is_401(recorder, token, scheme):
    """A missing, wrong or non-bearer token is 401 and nothing is recorded."""
    (response,) = send(make_app(recorder), [events_request(SIGNUP, token, scheme)])
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert recorder.events == {}


def test_events_single_and_jsonl_recorded(recorder):
    """One JSON event or a JSONL batch, with the right token, is recorded; a repeat is a duplicate."""
    second = {"type": "plan_change", "user_id": "u_app_1", "to": "pro", "event_id": "app-evt-2"}
    jsonl = (json.dumps(SIGNUP) + "\n" + json.dumps(second) + "\n").encode()
    app = make_app(recorder)
    (single,) = send(app, [events_request(SIGNUP)])
    (batch,) = send(app, [events_request(jsonl)])
    assert single.status_code == 200 and single.json()["recorded"] == 1
    assert batch.json()["recorded"] == 1 and batch.json()["duplicates"] == 1
    assert recorder.events["app-evt-2"].tier == "pro"
    assert recorder.events["app-evt-1"].source == "http"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "signup", "user_id": "u1", "event_id": "e1"}, "needs an email"),
        ({"type": "signup", "user_id": "u1", "email": "a@example.com"}, "event_id is required"),
        (b"{broken", "not valid JSON"),
        (b"", "no event"),
    ],
)
def test_events_invalid_body_is_400_nothing_recorded(recorder, body, message):
    """An invalid event (or a batch containing one) is 400 with the reason; nothing is recorded."""
    batch = body if isinstance(body, bytes) else (json.dumps(SIGNUP) + "\n" + json.dumps(body)).encode()
    (response,) = send(make_app(recorder), [events_request(batch)])
    assert response.status_code == 400 and message in response.json()["error"]
    assert recorder.events == {}


def test_events_disabled_without_token(recorder):
    """Without a configured token POST /events refuses everything."""
    (response,) = send(make_app(recorder, events_token=None), [events_request(SIGNUP, "")])
    assert response.status_code == 503


def test_events_recorder_failure_is_503(recorder):
    """A storage failure while recording product events answers 503."""
    recorder.fail_with = OSError("disk full")
    (response,) = send(make_app(recorder), [events_request(SIGNUP)])
    assert response.status_code == 503


def test_healthz_and_methods(recorder):
    """GET /healthz is 200; GET on a webhook path is 405."""

    async def go():
        transport = httpx.ASGITransport(app=make_app(recorder))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/healthz"), await client.get("/webhooks/stripe")

    health, wrong = asyncio.run(go())
    assert health.json() == {"status": "ok"} and wrong.status_code == 405


# --- over real loopback HTTP ------------------------------------------------------------------------


def test_served_by_uvicorn_over_loopback(recorder):
    """Served by uvicorn on 127.0.0.1, 30 concurrent real HTTP deliveries are all recorded."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(recorder), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)

        async def go():
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                return await asyncio.gather(
                    *(client.post(p, content=b, headers=h) for p, b, h in (delivery_for(i) for i in range(30)))
                )

        responses = asyncio.run(go())
    finally:
        server.should_exit = True
        thread.join(5)
    assert [r.status_code for r in responses] == [200] * 30
    assert len(recorder.events) == 30
