"""Contract test: every exchange recorded on a real Mautic 5.1.0 replayed against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from mautic_ctl.emulator import EmulatorConfig, create_app

from .replay import RECORDINGS, initial_variables, load, prepare_instance, run_recording

FILES = sorted(RECORDINGS.glob("[0-9]*.json")) if RECORDINGS.is_dir() else []

NOT_MATCHED: dict[str, str] = {}
"""Exchanges deliberately not matched, "file.json#index" -> reason (none at present)."""


async def _replay(path: Path) -> list[str]:
    recording = load(path)
    app = create_app(EmulatorConfig(client_name="mautic-ctl recorder"))
    emulator = app.state.emulator
    prepare_instance(recording, emulator.state)
    variables = initial_variables(recording, expired_token=emulator.issue_token(lifetime=-60))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mautic.test") as client:
        failures = await run_recording(client, recording, variables, emulator.console)
    return [f for f in failures if f"{path.name}{f.split()[0]}" not in NOT_MATCHED]


@pytest.mark.skipif(not FILES, reason=f"recordings not found at {RECORDINGS}")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_recording_replays_identically(path: Path) -> None:
    """Each recorded exchange gets the same status, key headers and JSON structure from the emulator."""
    failures = asyncio.run(_replay(path))
    assert not failures, f"{path.name}: {len(failures)} exchange(s) differ:\n  " + "\n  ".join(failures)
