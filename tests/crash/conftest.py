"""Crash tests reuse the integration fixtures: the loopback emulator (``mautic``), ``db_path`` and ``env``."""

from tests.integration.conftest import _emulator_session, db_path, env, mautic

__all__ = ["_emulator_session", "db_path", "env", "mautic"]
