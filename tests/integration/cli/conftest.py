"""An in-process runner for the real entry point (exit codes, stdout, stderr exactly as a user sees them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mautic_ctl.cli import main
from tests.helpers import Result


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> Callable[..., Result]:
    """Run `mautic-ctl ARGS` in this process through `main()`; returns exit code and output."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out = capsys.readouterr()
        code = exit_info.value.code
        return Result(code if isinstance(code, int) else 1, out.out, out.err)

    return run
