"""`mautic-ctl queue work`: the installed worker as a real subprocess, on both stores — it drains what
arrives while it runs (woken by NOTIFY on PostgreSQL, a short poll on SQLite) and SIGTERM lets the round
in flight settle, then exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from mautic_ctl.emulator.config import FaultConfig
from mautic_ctl.store import db
from tests.helpers import contact_view, mautic_env, run_installed


def counts(store_url: str) -> dict[str, int]:
    conn = db.connect(store_url)
    try:
        return {status: n for status, n in conn.execute("SELECT status, count(*) FROM events GROUP BY status")}
    finally:
        conn.close()


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    return subprocess.Popen(
        [exe, "queue", "work", "--json", *args], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def signup(env: dict[str, str], i: int) -> None:
    res = run_installed(["signup", "--user-id", f"w{i}", "--email", f"w{i}@example.com", "--no-apply"], env)
    assert res.code == 0, res.stderr


def test_worker_applies_events_as_they_arrive_and_exits_0_on_sigterm(mautic, store_url, backend):
    """Events recorded while the worker waits are applied within seconds although it would only look by
    itself every 30 s: a NOTIFY (PostgreSQL) or the short poll (SQLite) wakes it. SIGTERM: exit 0."""
    env = mautic_env(mautic.url, store_url)
    signup(env, 0)
    worker = start_worker(env, "--max-idle", "30")
    try:
        wait_for(lambda: counts(store_url).get("done") == 1, 20, "the backlog")
        time.sleep(0.5)  # the worker is waiting now
        started = time.monotonic()
        for i in (1, 2):
            signup(env, i)
        wait_for(lambda: counts(store_url).get("done") == 3, 20, "the new events")
        assert time.monotonic() - started < 10
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err.decode()
    summary = json.loads(out)
    assert (summary["applied"], summary["stopped_by"], summary["dead"]) == (3, "SIGTERM", 0)
    assert summary["wait_mode"] == ("listen" if backend == "postgresql" else "poll")
    assert summary["wakeups"] >= 1
    assert all(contact_view(mautic, f"w{i}@example.com").segments >= {"new_users"} for i in range(3))


def test_sigterm_mid_round_lets_the_round_settle(mautic, store_url, tmp_path):
    """SIGTERM while calls are in flight: the round finishes and settles, nothing stays leased, exit 0; the
    rest stays pending for the next worker."""
    config = tmp_path / "config.toml"
    config.write_text("[queue]\nbatch_size = 5\n")
    env = mautic_env(mautic.url, store_url, MAUTIC_CTL_CONFIG=str(config))
    for i in range(12):
        signup(env, i)
    mautic.faults = FaultConfig(latency_ms=150)
    worker = start_worker(env)
    try:
        wait_for(lambda: counts(store_url).get("processing", 0) > 0, 20, "a round in flight")
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()
    summary = json.loads(out)
    after = counts(store_url)
    assert after.get("processing", 0) == 0, after  # settled, not left leased
    assert summary["applied"] == after.get("done", 0) >= 5
    assert after.get("pending", 0) >= 1  # it claimed no further round after the signal
    assert after.get("done", 0) + after.get("pending", 0) == 12
