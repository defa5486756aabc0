"""Fault injection (in-process and over a real socket) and the mautic51 cost profile."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from mautic_ctl.emulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, EmulatorConfig, FaultConfig, serve_in_thread
from mautic_ctl.emulator.faults import FaultInjector, request_cost

from .conftest import Mautic

AUTH = (DEFAULT_USERNAME, DEFAULT_PASSWORD)


def _statuses(seed: int, n: int = 40) -> list[int]:
    injector = FaultInjector(FaultConfig(fail_rate=0.5, seed=seed))
    return [p.status if p.action == "fail" else 200 for p in (injector.plan() for _ in range(n))]


def test_fail_rate_is_deterministic_with_a_seed() -> None:
    """The same seed gives the same fault sequence; about fail_rate of the calls fail, with 500/502/503."""
    assert _statuses(7) == _statuses(7)
    assert _statuses(7) != _statuses(8)
    failed = [s for s in _statuses(7, 400) if s != 200]
    assert 150 < len(failed) < 250 and set(failed) == {500, 502, 503}


def test_a_faulted_request_changes_nothing(make_mautic) -> None:
    """A 5xx fault is decided before the request is applied: no contact is created."""
    mautic: Mautic = make_mautic(EmulatorConfig(faults=FaultConfig(fail_rate=1.0, fail_statuses=(503,), seed=1)))
    response = mautic.post("/api/contacts/new", json={"email": "f@example.com"})
    assert response.status_code == 503 and not mautic.state.contacts
    mautic.emulator.faults.fail_rate = 0
    assert mautic.post("/api/contacts/new", json={"email": "f@example.com"}).status_code == 201


def test_in_process_drop_raises_an_httpx_protocol_error(mautic: Mautic) -> None:
    """Through ASGITransport a dropped connection surfaces as httpx.RemoteProtocolError."""
    mautic.emulator.faults.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        mautic.get("/api/segments")


def test_lost_response_is_applied_but_never_answered(mautic: Mautic) -> None:
    """lost_response: the contact is created, then the connection is lost (the client cannot know)."""
    mautic.emulator.faults = FaultConfig(lost_response_rate=1.0, hang_seconds=0.01)
    with pytest.raises(httpx.RemoteProtocolError):
        mautic.post("/api/contacts/new", json={"email": "lost@example.com"})
    assert mautic.state.contact_by_email("lost@example.com") is not None


def test_real_socket_faults_down_window_timeout_and_drop() -> None:
    """Over TCP: a down window answers 503 then recovers, a hang trips the client timeout, a drop is a connection error."""
    with serve_in_thread() as server, httpx.Client(base_url=server.url, auth=AUTH, timeout=2) as client:
        assert client.get("/api/segments/1").status_code == 200
        server.down_for(0.3)
        assert client.get("/api/segments/1").status_code == 503
        time.sleep(0.35)
        assert client.get("/api/segments/1").status_code == 200
        server.faults.timeout_rate, server.faults.hang_seconds = 1.0, 5.0
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/contacts/new", json={"email": "t@example.com"}, timeout=0.3)
        assert time.monotonic() - started < 2
        assert server.state.contact_by_email("t@example.com") is None
        server.faults.timeout_rate = 0
        server.faults.drop_rate = 1.0
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            client.get("/api/segments/1")
        server.faults.drop_rate = 0
        assert client.get("/api/segments/1").status_code == 200


def test_control_endpoint_takes_the_server_down_and_back() -> None:
    """POST /_emulator/faults drives a server another process started: down (drop mode), then up."""
    with serve_in_thread() as server, httpx.Client(base_url=server.url, auth=AUTH, timeout=2) as client:
        assert client.post("/_emulator/faults", json={"down_for": None, "down_mode": "drop"}).json()["down"] is True
        with pytest.raises(httpx.HTTPError):
            client.get("/api/segments")
        client.post("/_emulator/faults", json={"up": True, "latency_ms": 1})
        assert client.get("/api/segments").status_code == 200
        assert client.get("/_emulator/faults").json()["latency_ms"] == 1
        assert client.post("/_emulator/faults", json={"no_such": 1}).status_code == 400
        state = client.get("/_emulator/state").json()
        assert state["counts"]["segments"] == 5 and state["counters"]["api_calls"] >= 2
        client.post("/api/contacts/new", json={"email": "r@example.com"})
        assert client.get("/_emulator/contacts", params={"email": "r@example.com"}).json()["id"] == 1
        assert client.post("/_emulator/reset").json()["counts"]["contacts"] == 0
        token = client.post("/_emulator/tokens", json={"lifetime": -1}).json()["access_token"]
        expired = client.get("/api/segments", headers={"Authorization": f"Bearer {token}"}, auth=None)
        assert expired.json()["errors"][0]["message"] == "The access token provided has expired."


def test_latency_is_added() -> None:
    """latency_ms delays each faultable call; control endpoints are never delayed."""
    config = EmulatorConfig(faults=FaultConfig(latency_ms=400))
    with serve_in_thread(config) as server, httpx.Client(base_url=server.url, auth=AUTH) as client:
        started = time.monotonic()
        client.get("/api/segments/1")
        assert time.monotonic() - started >= 0.4
        started = time.monotonic()
        client.get("/_emulator/faults")
        assert time.monotonic() - started < 0.4  # not delayed (a delayed call takes at least 0.4 s)


def test_mautic51_profile_charges_the_measured_costs() -> None:
    """Basic ~0.46 s, Bearer ~0.03 s, batch/new +20 ms per contact, segment batch add +5 ms per new id."""
    assert request_cost("basic", "/api/segments/{id}") == pytest.approx(0.46)
    assert request_cost("bearer", "/api/segments/{id}") == pytest.approx(0.03)
    assert request_cost("bearer", "/api/contacts/batch/new", items=200) == pytest.approx(4.03)
    assert request_cost("bearer", "/api/segments/{id}/contacts/add", items=200, new_items=200) == pytest.approx(1.03)
    assert request_cost("token", None) == pytest.approx(0.03)


def test_mautic51_profile_serialises_basic_calls_on_two_cores(make_mautic) -> None:
    """Four concurrent Basic calls on 2 simulated cores take two rounds of the (scaled) 0.46 s charge."""
    mautic: Mautic = make_mautic(EmulatorConfig(faults=FaultConfig(profile="mautic51", cost_scale=0.5)))

    async def four() -> float:
        started = time.monotonic()
        await asyncio.gather(*(mautic.client.get("/api/segments/1") for _ in range(4)))
        return time.monotonic() - started

    elapsed = mautic.loop.run_until_complete(four())
    one_round = 0.46 * 0.5
    # 2 rounds: serialised on 2 cores (1 round would mean no serialisation, 4 rounds a single core)
    assert 2 * one_round * 0.9 <= elapsed < 4 * one_round
    assert mautic.emulator.injector.charged == pytest.approx(4 * 0.46)
