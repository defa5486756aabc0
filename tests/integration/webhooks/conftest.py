"""Billing end-to-end fixtures: a Runtime on a config file, and the receiver app on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mautic_ctl.services.runtime import Runtime
from mautic_ctl.services.serve import build_app
from mautic_ctl.settings import load_settings
from tests.helpers import AppServer


def write_config(path: Path, text: str) -> Path:
    """A config file as an operator keeps it (0600: mautic-ctl warns about readable secrets)."""
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def rt(env: dict[str, str], config: Path) -> Iterator[Runtime]:
    """The Runtime of the module's ``config`` fixture, against the emulator of ``env``."""
    runtime = Runtime(load_settings(config))
    yield runtime
    runtime.close()


@pytest.fixture
def receiver(rt: Runtime) -> Iterator[str]:
    """The webhook receiver of ``rt`` (recording into its store) on a free port; its base URL."""
    app, recorder, _ = build_app(rt)
    server = AppServer(app)
    yield server.url
    server.stop()
    recorder.close()
