"""Fixtures shared by every tier: isolation first (no real config, data dir or MAUTIC_* variable leaks in)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.postgres"]  # pg_server, pg_url, store_url: the storage contract on both stores


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


@pytest.fixture(autouse=True)
def no_unasked_campaign_restart(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used an emulator, no contact may have (re)entered a campaign a second time.

    A restartable campaign runs its events again at rotation 2 (a second welcome mail), so the emulator
    records every entry and `state.double_entries()` lists those at rotation 2 or more. A test that
    restarts a campaign on purpose says so with `@pytest.mark.campaign_restart`.
    """
    yield
    if request.node.get_closest_marker("campaign_restart"):
        return
    for value in request.node.funcargs.values():
        for state in _emulator_states(value):
            doubles = state.double_entries()
            assert not doubles, f"campaign restarted without @pytest.mark.campaign_restart: {doubles}"


def _emulator_states(value: object) -> Iterator[Any]:
    """The emulator states a fixture value holds: a handle or facade (`.state`), or a factory (`.made`)."""
    made = getattr(value, "made", None)
    for candidate in made if isinstance(made, list) else [value]:
        state = getattr(candidate, "state", None)
        if callable(getattr(state, "double_entries", None)):
            yield state


from tests.browser import chromium  # noqa: E402,F401  (a real browser for page tests; see tests/browser.py)
