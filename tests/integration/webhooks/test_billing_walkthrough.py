"""The README's `simulate --send` walk-through, run as written (installed `mautic-ctl`, real `webhook serve`).

It is env-only, as the README's quick start is: the emulator's environment, plus the Stripe secret and
the tier map through MAUTIC_CTL_STRIPE__TIERS__<price> (problem 9 of issue 11: there used to be no way
to give a tier map without a config file). This is the suite's one real-server test of the billing
wiring: the installed command serves, a second installed command signs and sends, `queue run` applies
to the emulator. Only the port is changed (to a free one), so parallel runs do not collide.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mautic_ctl.emulator.server import EmulatorHandle
from tests.helpers import contact_view

README = Path(__file__).parents[3] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    marker = text.index("<!-- walkthrough:")
    match = re.search(r"```sh\n(.*?)```", text[marker:], re.S)
    assert match, "the README's walk-through block is missing"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_readme_simulate_send_walkthrough_works_as_written(env: dict[str, str], mautic: EmulatorHandle, tmp_path):
    script = walkthrough().replace("8787", str(free_port()))
    bin_dir = os.path.dirname(sys.executable)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    full_env["PATH"] = bin_dir + os.pathsep + full_env.get("PATH", "")
    proc = subprocess.Popen(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=50)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err.decode()
    assert '"status": "recorded"' in out.decode()
    view = contact_view(mautic, "ada@example.com")
    assert view is not None and "pro" in view.segments
    assert {"welcome", "onboarding_pro"} <= view.campaigns
