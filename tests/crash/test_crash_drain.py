"""Real `mautic-ctl queue run` processes killed with SIGKILL mid-drain: nothing lost, nothing applied twice."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable

import pytest

from mautic_ctl.emulator.config import FaultConfig
from tests.helpers import snapshot
from tests.workload import (
    campaign_entries,
    drain_until_done,
    enqueue,
    event_rows,
    finish,
    lifecycle_events,
    reference_snapshot,
    start_queue_run,
    status_counts,
    write_config,
)

KILLS = 20


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


@pytest.mark.timeout(180)
def test_sigkilled_drains_lose_nothing_and_apply_nothing_twice(mautic, env, db_path, tmp_path):
    """≥20 SIGKILLs of `queue run` mid-flight, then a drain: every event done once, state equals a clean run."""
    events = lifecycle_events(n_users=100, n_events=300, seed=11)
    # Short lease: a killed worker's events are due again after 1 s. Many attempts: a crash-loop
    # must not bury events. Small rounds: each kill strands few events, so the next worker has work.
    config = write_config(tmp_path / "crash.toml", queue={"lease": 1.0, "max_attempts": 1000, "batch_size": 25})
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    assert len(reference) == 100
    assert all(n == 1 for _, _, entries, _ in reference.values() for _, n in entries)

    enqueue(db_path, events)
    mautic.faults = FaultConfig(latency_ms=5, jitter_ms=15, seed=3)  # calls in flight long enough to be cut
    rng = random.Random(20260101)
    kills = runs = 0
    deadline = time.monotonic() + 110
    while kills < KILLS + 4 and time.monotonic() < deadline:
        counts = status_counts(db_path)
        if counts.get("pending", 0) + counts.get("processing", 0) == 0:
            break
        calls_before = mautic.counters.total
        # --limit: a run that escapes its kill applies one round, not the whole queue, so the kills keep
        # landing mid-drain however fast the machine is (a quiet machine once drained it in 17 runs).
        proc = start_queue_run(env, config, "--limit", "25")
        runs += 1
        if rng.random() < 0.3:  # any moment: start-up, a claim, a progress commit, a settle, a call
            wait_for(lambda p=proc: p.poll() is not None, rng.uniform(0.05, 0.8))
        else:  # after a random number of Mautic calls, so the kill lands with requests in flight
            target = calls_before + rng.randint(1, 12)
            wait_for(lambda p=proc, t=target: p.poll() is not None or mautic.counters.total >= t, 15)
            time.sleep(rng.uniform(0, 0.02))
        if proc.poll() is None:
            proc.kill()
            kills += 1
            finish(proc)
        else:
            code, _, err = finish(proc)
            assert code in (0, 75), err  # 75: a dead worker's events are still leased
            assert "Traceback" not in err, err
    assert kills >= KILLS, f"only {kills} kills in {runs} runs (the queue drained too fast)"

    drain_until_done(env, config, db_path)
    assert status_counts(db_path) == {"done": len(events)}
    assert snapshot(mautic) == reference
    assert set(campaign_entries(mautic).values()) == {1}  # no contact entered a campaign twice
    assert len(mautic.state.contacts) == 100  # no duplicate contact
    retried = sum(1 for row in event_rows(db_path) if row["attempts"] > 1)
    assert retried > 0  # the kills really interrupted events


@pytest.mark.timeout(90)
def test_a_frozen_worker_resumed_after_a_takeover_sends_nothing_more(mautic, env, db_path, tmp_path):
    """SIGSTOP a worker mid-round past its lease, let another finish its events, SIGCONT it: no second entry."""
    events = lifecycle_events(n_users=6, n_events=6, seed=12)  # six signups: one round of campaign entries
    config = write_config(tmp_path / "f.toml", queue={"lease": 1.0, "max_attempts": 1000, "concurrency": 1})
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    enqueue(db_path, events)
    mautic.faults = FaultConfig(latency_ms=150)  # campaign entries go out one at a time, slowly
    frozen = start_queue_run(env, config)
    entries = "/api/campaigns/{id}/contact/{cid}/add"
    assert wait_for(lambda: mautic.counters.calls("POST", entries) >= 1, 30)
    frozen.send_signal(signal.SIGSTOP)  # entries still waiting for their turn, leases about to lapse
    try:
        time.sleep(1.5)
        mautic.faults = FaultConfig()
        code, _, err = finish(start_queue_run(env, config))  # takes the expired events over
        assert code == 0, err
        assert status_counts(db_path) == {"done": len(events)}
    finally:
        frozen.send_signal(signal.SIGCONT)
    code, _, err = finish(frozen)
    assert "Traceback" not in err, err
    assert status_counts(db_path) == {"done": len(events)}  # the resumed worker overwrote nothing
    assert set(campaign_entries(mautic).values()) == {1}
    assert snapshot(mautic) == reference
