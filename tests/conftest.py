"""Fixtures shared by every tier: isolation first (no real config, data dir or MAUTIC_* variable leaks in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets empty config/data dirs and no MAUTIC_* environment."""
    for name in list(os.environ):
        if name.startswith("MAUTIC_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return home


from tests.browser import chromium  # noqa: E402,F401  (a real browser for page tests; see tests/browser.py)
