"""`mautic-ctl webhook serve --apply` as the installed command: events in over HTTP, applied in the background."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import contact_view


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(90)
def test_webhook_serve_records_then_applies_in_background(env, mautic):
    """POST /events with the bearer token: 200 once recorded, then applied by the background drain; a bad token is 401."""
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    full_env["MAUTIC_CTL_EVENTS_TOKEN"] = "t0ken-for-tests"
    proc = subprocess.Popen([exe, "webhook", "serve", "--port", str(port), "--apply"], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "webhook serve did not start"
            time.sleep(0.1)
        event = {"type": "signup", "user_id": "w1", "email": "w1@example.com", "tier": "pro", "event_id": "ev-w1"}
        bad = httpx.post(f"{url}/events", json=event, headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401
        ok = httpx.post(f"{url}/events", json=event, headers={"Authorization": "Bearer t0ken-for-tests"})
        assert ok.status_code == 200 and ok.json()["status"] == "recorded", ok.text
        deadline = time.monotonic() + 30
        while (
            contact_view(mautic, "w1@example.com") is None
            or "onboarding_pro" not in contact_view(mautic, "w1@example.com").campaigns
        ):
            assert time.monotonic() < deadline, "the background drain did not apply the event"
            time.sleep(0.1)
        assert contact_view(mautic, "w1@example.com").segments == {"new_users", "pro"}
    finally:
        proc.terminate()
        proc.wait(10)
