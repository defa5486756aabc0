"""Several `mautic-ctl` processes at once on one queue: concurrent drains, and 50 concurrent recorders."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from mautic_ctl.emulator.config import FaultConfig
from tests.helpers import contact_view, snapshot
from tests.workload import (
    EXE,
    campaign_entries,
    drain_until_done,
    enqueue,
    event_rows,
    finish,
    lifecycle_events,
    reference_snapshot,
    start_queue_run,
    status_counts,
    subprocess_env,
    write_config,
)


@pytest.mark.timeout(120)
def test_concurrent_drains_apply_each_event_once(mautic, env, db_path, tmp_path):
    """Three `queue run` processes at once on one queue: each event claimed once, state equals a clean run."""
    events = lifecycle_events(n_users=60, n_events=180, seed=5)
    config = write_config(tmp_path / "c.toml", queue={"lease": 5.0, "max_attempts": 1000, "batch_size": 10})
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    enqueue(db_path, events)
    mautic.faults = FaultConfig(latency_ms=5, jitter_ms=15, seed=9)
    busy = 0
    for _ in range(20):
        counts = status_counts(db_path)
        if counts.get("pending", 0) + counts.get("processing", 0) == 0:
            break
        procs = [start_queue_run(env, config) for _ in range(3)]
        results = [finish(p) for p in procs]
        for code, _, err in results:
            assert code in (0, 75), err
            assert "Traceback" not in err and "locked" not in err, err
        busy = max(busy, sum(1 for _, report, _ in results if report and report["applied"]))
    assert busy >= 2  # the drains really overlapped
    assert status_counts(db_path) == {"done": len(events)}
    assert {row["attempts"] for row in event_rows(db_path)} == {1}  # no event was claimed twice
    assert snapshot(mautic) == reference
    assert set(campaign_entries(mautic).values()) == {1}
    assert len(mautic.state.contacts) == 60


@pytest.mark.timeout(90)
def test_a_slow_round_keeps_its_lease(mautic, env, db_path, tmp_path):
    """A worker whose round outlasts the lease keeps its events: a second worker never applies them again."""
    events = lifecycle_events(n_users=8, n_events=8, seed=6)  # eight signups: one round
    config = write_config(tmp_path / "c.toml", queue={"lease": 1.0, "max_attempts": 1000, "concurrency": 2})
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    enqueue(db_path, events)
    mautic.faults = FaultConfig(latency_ms=400)  # the round takes several seconds: many leases long
    first = start_queue_run(env, config)
    time.sleep(2.5)  # the first worker is mid-round and its original lease has run out
    second = start_queue_run(env, config)
    for proc in (first, second):
        code, _, err = finish(proc)
        assert code in (0, 75), err
    mautic.faults = FaultConfig()
    drain_until_done(env, config, db_path)
    assert set(campaign_entries(mautic).values()) == {1}  # no welcome mail sent twice
    assert {row["attempts"] for row in event_rows(db_path)} == {1}
    assert snapshot(mautic) == reference


@pytest.mark.timeout(150)
def test_fifty_recorders_and_a_drain_at_once(mautic, env, db_path, tmp_path):
    """50 `signup --no-apply` processes started together during a drain: all exit 0 silently, none lost."""
    backlog = lifecycle_events(n_users=40, n_events=120, seed=41)
    enqueue(db_path, backlog)
    config = write_config(tmp_path / "c.toml", queue={"lease": 30.0, "batch_size": 5})
    mautic.faults = FaultConfig(latency_ms=20)  # small rounds, slow calls: the drain lasts seconds
    drain = start_queue_run(env, config)
    time.sleep(0.8)  # the drain has started writing: claims, progress commits, settlements
    recorders = [
        subprocess.Popen(
            [EXE, "signup", "--user-id", f"burst-{i}", "--email", f"burst-{i}@example.com", "--no-apply", "--json"],
            env=subprocess_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(50)
    ]
    assert drain.poll() is None  # the whole burst started while the drain was running
    outputs = [proc.communicate(timeout=120) for proc in recorders]
    drain_code, _, drain_err = finish(drain, timeout=120)
    assert drain_code in (0, 75), drain_err
    assert "locked" not in drain_err
    for proc, (out, err) in zip(recorders, outputs, strict=True):
        assert proc.returncode == 0 and err == b"", err
        assert json.loads(out)["status"] == "recorded"
    assert sum(status_counts(db_path).values()) == len(backlog) + 50
    drain_until_done(env, config, db_path)
    assert status_counts(db_path) == {"done": len(backlog) + 50}
    assert all(contact_view(mautic, f"burst-{i}@example.com").segments == {"new_users", "free"} for i in range(50))
