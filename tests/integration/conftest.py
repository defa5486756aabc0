"""Integration fixtures: one emulator on real loopback HTTP for the session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mautic_ctl.emulator.config import EmulatorConfig, FaultConfig
from mautic_ctl.emulator.server import EmulatorHandle, start_in_thread
from tests.helpers import mautic_env


@pytest.fixture(scope="session")
def _emulator_session() -> Iterator[EmulatorHandle]:
    handle = start_in_thread(EmulatorConfig())
    yield handle
    handle.stop()


@pytest.fixture
def mautic(_emulator_session: EmulatorHandle) -> EmulatorHandle:
    """The loopback emulator, freshly seeded and with no faults."""
    _emulator_session.reset()
    _emulator_session.faults = FaultConfig()
    return _emulator_session


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture
def env(mautic: EmulatorHandle, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing mautic-ctl at the emulator (also set in this process for in-process runs)."""
    values = mautic_env(mautic.url, str(db_path))
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
