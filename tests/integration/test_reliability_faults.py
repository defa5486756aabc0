"""A flaky Mautic (5xx, timeouts, lost answers, dropped connections, a rate limit): drains converge exactly."""

from __future__ import annotations

import time

import pytest

from mautic_ctl.emulator.config import FaultConfig
from mautic_ctl.emulator.seed import SEED_SEGMENTS
from mautic_ctl.services.drain import run_drain
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.settings import load_settings
from tests.helpers import make_all_due, snapshot
from tests.workload import (
    campaign_entries,
    enqueue,
    event_rows,
    lifecycle_events,
    reference_snapshot,
    status_counts,
    write_config,
)


def drain_once(config, db) -> None:
    rt = Runtime(load_settings(config, queue={"db": db}))
    try:
        run_drain(rt, rt.drain_options())
    finally:
        rt.close()


@pytest.mark.timeout(150)
def test_faulty_mautic_converges_to_the_exact_state_with_nothing_dead(mautic, env, db_path, tmp_path):
    """30% 5xx, hangs past the client timeout, lost answers, drops and a 429 window: exact state, zero dead."""
    events = lifecycle_events(n_users=40, n_events=120, seed=21)
    config = write_config(
        tmp_path / "faults.toml",
        mautic={"timeout": 0.4, "http_retries": 2},
        queue={"max_attempts": 1000, "lease": 30.0, "backoff_base": 0.05, "backoff_max": 0.2},
    )
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    enqueue(db_path, events)
    mautic.faults = FaultConfig(
        latency_ms=2, jitter_ms=8, fail_rate=0.3, fail_statuses=(500, 502, 503),
        timeout_rate=0.04, hang_seconds=1.5,  # no answer before the client's 0.4 s timeout; not applied
        lost_response_rate=0.04,  # applied, then the answer is lost: the ambiguous case
        drop_rate=0.04, rate_limit=25, rate_limit_period=1.0, seed=4,
    )  # fmt: skip
    deadline = time.monotonic() + 110
    drains = 0
    while status_counts(db_path).get("done", 0) < len(events) and time.monotonic() < deadline:
        make_all_due(str(db_path))  # skip the backoff and the 429 wait; Mautic's faults stay on
        drain_once(config, db_path)
        drains += 1
    injected = dict(mautic.emulator.injector.counts)
    statuses = dict(mautic.counters.by_status)
    mautic.faults = FaultConfig()
    assert status_counts(db_path) == {"done": len(events)}, (drains, status_counts(db_path))
    assert all(injected.get(kind, 0) > 0 for kind in ("fail", "hang", "lost", "drop")), injected
    assert statuses.get(429, 0) > 0, statuses
    assert snapshot(mautic) == reference
    assert set(campaign_entries(mautic).values()) == {1}  # lost answers never led to a second entry
    assert len(mautic.state.contacts) == 40
    assert any(row["attempts"] > 1 for row in event_rows(db_path))


@pytest.mark.timeout(60)
def test_only_permanent_errors_dead_letter(mautic, env, db_path, tmp_path):
    """Under 5xx faults an unpublished segment (403) still dead-letters, and nothing else does."""
    events = lifecycle_events(n_users=10, n_events=10, seed=22)  # ten signups
    config = write_config(tmp_path / "f.toml", queue={"max_attempts": 1000, "backoff_base": 0.05})
    enqueue(db_path, events)
    mautic.state.segments[SEED_SEGMENTS["pro"]].is_published = False
    mautic.faults = FaultConfig(fail_rate=0.3, seed=8)
    for _ in range(40):
        make_all_due(str(db_path))
        drain_once(config, db_path)
        counts = status_counts(db_path)
        if counts.get("pending", 0) + counts.get("processing", 0) == 0:
            break
    rows = event_rows(db_path)
    dead = [r for r in rows if r["status"] == "dead"]
    assert dead
    assert {e.event_id for e in events if e.tier == "pro"} == {r["event_id"] for r in dead}
    assert all("unpublished" in r["last_error"] for r in dead)
    assert {r["status"] for r in rows if r not in dead} == {"done"}
