"""docs/examples work as written (issue 12): the cron lines, the systemd units and the CI workflow are
parsed, and their commands run — with the installed `mautic-ctl` — against the emulator."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.helpers import contact_view, run_installed

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
BIN = os.path.dirname(sys.executable)
CRON_FIELD = r"(\*|\*/\d+|\d+(-\d+)?(,\d+)*)"
CRON_LINE = re.compile(rf"^{CRON_FIELD}(\s+{CRON_FIELD}){{4}}\s+(?P<command>mautic-ctl .+)$")


def _shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    full["PATH"] = f"{BIN}:{full.get('PATH', '')}"
    return subprocess.run(["/bin/sh", "-c", command], env=full, capture_output=True, text=True, timeout=60)


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # keys are case-sensitive in systemd
    unit.read_string((EXAMPLES / name).read_text())
    return unit


def _local(command: str, tmp_path: Path) -> str:
    """The example's command with its absolute system paths moved under the test's tmp dir."""
    command = command.replace("/usr/local/bin/mautic-ctl", f"{BIN}/mautic-ctl")
    return re.sub(r"/var/(log|lib)/[\w/.-]+", lambda m: str(tmp_path / m.group(0).lstrip("/")), command)


def test_cron_lines_parse_and_run(env, mautic, tmp_path):
    lines = [ln for ln in (EXAMPLES / "mautic-ctl.cron").read_text().splitlines() if ln and not ln.startswith("#")]
    variables = [ln for ln in lines if re.match(r"^[A-Z_]+=", ln)]
    jobs = [CRON_LINE.match(ln) for ln in lines if ln not in variables]
    assert all(jobs) and len(jobs) == 3, lines
    assert variables == ["MAUTIC_CTL_CONFIG=/etc/mautic-ctl/config.toml"]
    (tmp_path / "var/log/mautic-ctl").mkdir(parents=True)
    assert run_installed(["signup", "--user-id", "c1", "--email", "c1@example.com", "--no-apply"], env).code == 0
    for job in jobs:
        done = _shell(_local(job.group("command"), tmp_path), env)
        assert done.returncode == 0, (job.group("command"), done.stderr)
    assert contact_view(mautic, "c1@example.com") is not None  # the drain line applied it
    assert '"applied": 1' in (tmp_path / "var/log/mautic-ctl/drain.log").read_text()
    prom = tmp_path / "var/lib/node_exporter/textfile_collector/mautic_ctl.prom"
    assert "mautic_ctl_last_run_success 1.0" in prom.read_text()

    mautic.down_for(None)  # Mautic down: the drain line still succeeds for cron (exit 75 is "later")
    assert run_installed(["signup", "--user-id", "c2", "--email", "c2@example.com", "--no-apply"], env).code == 0
    assert _shell(_local(jobs[0].group("command"), tmp_path), env).returncode == 0


def test_systemd_drain_service_and_timer(env, mautic, tmp_path):
    service, timer = _unit("mautic-ctl-drain.service"), _unit("mautic-ctl-drain.timer")
    assert service["Service"]["Type"] == "oneshot" and "75" in service["Service"]["SuccessExitStatus"].split()
    assert timer["Timer"]["Unit"] == "mautic-ctl-drain.service" and timer["Install"]["WantedBy"] == "timers.target"
    assert timer["Timer"]["OnUnitActiveSec"] == "1min"
    assert run_installed(["signup", "--user-id", "s1", "--email", "s1@example.com", "--no-apply"], env).code == 0
    done = _shell(_local(service["Service"]["ExecStart"], tmp_path), env)
    assert done.returncode == 0, done.stderr
    assert contact_view(mautic, "s1@example.com").entries == {"welcome": 1}


def test_systemd_webhook_service_serves(env, tmp_path):
    service = _unit("mautic-ctl-webhook.service")
    assert service["Service"]["Type"] == "simple" and service["Install"]["WantedBy"] == "multi-user.target"
    assert "69" in service["Service"]["RestartPreventExitStatus"].split()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = shlex.split(_local(service["Service"]["ExecStart"], tmp_path).replace("--port 8787", f"--port {port}"))
    full = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    proc = subprocess.Popen(argv, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_ci_workflow_runs_verify_config(env, mautic, tmp_path):
    workflow = yaml.safe_load((EXAMPLES / "verify-config.yml").read_text())
    steps = workflow["jobs"]["verify-config"]["steps"]
    step = next(s for s in steps if s.get("name") == "verify-config")
    assert set(step["env"]) >= {"MAUTIC_BASE_URL", "MAUTIC_CLIENT_ID", "MAUTIC_CLIENT_SECRET", "MAUTIC_CTL_CONFIG"}
    (tmp_path / "mautic-ctl.toml").write_text("[queue]\nmax_attempts = 10\n")
    ci_env = env | {"MAUTIC_CTL_CONFIG": step["env"]["MAUTIC_CTL_CONFIG"]}
    done = _shell(f"cd {tmp_path} && {step['run']}", ci_env)
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in (tmp_path / "verify-config.json").read_text()
    mautic.state.segments[3].is_published = False  # drift: the build fails
    assert _shell(f"cd {tmp_path} && {step['run']}", ci_env).returncode == 3
