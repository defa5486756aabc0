"""The dashboard in a real headless Chromium, served by the installed `mautic-ctl dashboard` process:
open the overview on a seeded queue, open the dead event, press Retry, let `queue run` apply it, and see
it applied — in the page and in the emulator.

Set DASHBOARD_SCREENSHOTS=DIR to keep screenshots of the main pages (docs/ holds the README's).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import contact_view, run_installed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(env):
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    proc = subprocess.Popen([exe, "dashboard", "--port", str(port)], env=full_env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dashboard did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def shot(page, name: str) -> None:
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"dashboard-{name}.png"), full_page=True)


def test_retry_a_dead_event_in_the_browser_and_see_it_applied(env, mautic, chromium, dashboard):
    assert run_installed(["signup", "--user-id", "u1", "--email", "ann@example.com"], env).code == 0
    for n in range(2, 6):
        assert run_installed(["signup", "--user-id", f"u{n}", "--email", f"u{n}@example.com"], env).code == 0
    broken = env | {"MAUTIC_PRO_TIER_SEGMENT_ID": "999"}  # a segment id that does not exist in Mautic
    assert run_installed(["plan-change", "--user-id", "u1", "--to", "pro"], broken).code == 1

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(dashboard + "/")
    assert page.locator('[data-status="dead"] .n').inner_text() == "1"
    assert page.locator('[data-status="done"] .n').inner_text() == "5"
    assert page.locator("svg.chart rect.bar").count() >= 72
    shot(page, "overview")

    page.click('[data-status="dead"]')
    page.wait_for_url("**/events?status=dead")
    assert page.locator("#events tr").count() == 2  # header + the dead plan change
    page.click("#events td a >> nth=0")
    assert page.locator("#status").inner_text() == "dead"
    assert page.locator("#last-error").inner_text()  # why it died, in words
    calls = page.locator("#calls").inner_text()
    assert "/api/segments/999/contacts/add" in calls and "404" in calls  # the failed call, from the audit trail
    shot(page, "dead-event")

    page.click("#retry")
    page.wait_for_url("**?done=retry")
    assert page.locator("#status").inner_text() == "pending"
    assert page.get_by_role("status").inner_text().startswith("Done: retry")

    assert run_installed(["queue", "run"], env).code == 0  # cron's drain, with the fixed configuration
    page.reload()
    assert page.locator("#status").inner_text() == "done"
    view = contact_view(mautic, "ann@example.com")
    assert view is not None and "pro" in " ".join(view.segments).lower()

    page.click("text=u1 >> nth=0")
    page.wait_for_url("**/users/u1")
    assert page.locator("#mirror").inner_text().count("tier:pro") == 1
    shot(page, "user")
    page.close()
