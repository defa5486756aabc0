"""A real headless Chromium for page tests: Debian's package, driven by Playwright with the system browser.

CI runs only `pip install -e '.[test]'` and `pytest`; Playwright comes with the test extra, but its own
browser download cannot work here, so the system Chromium is used. Where it is missing and we run as
root with apt, it is installed once (bounded in time); a test skips — saying why — only where no
browser can be had at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_SECONDS = 600


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def install_chromium() -> str | None:
    """apt-get install chromium, as root only; None when that is not possible here."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=INSTALL_SECONDS, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], env=env, timeout=INSTALL_SECONDS, capture_output=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return find_chromium()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (Playwright Browser); skips only where none can be installed.

    Module-scoped on purpose: Playwright's sync API keeps an event loop running in this thread while it
    is open, and any in-process `asyncio.run` (the CLI's drain) fails under it — so keep browser tests in
    modules of their own, and the browser closes when the module ends.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the test extra
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    path = find_chromium() or install_chromium()
    if path is None:
        pytest.skip("no Chromium on this machine and it cannot be installed here (needs root and apt-get)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
