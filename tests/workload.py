"""Reliability-test helpers: a seeded lifecycle workload, a reference run, and `queue run` subprocesses.

The workload is plain data (validated ``Event`` objects with fixed event ids), so the same events can
be applied once cleanly to a fresh emulator and once under crashes, concurrency or faults, and the
two final states compared with ``tests.helpers.snapshot``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mautic_ctl.events import Event, Vocabulary, build_event
from mautic_ctl.store import connect
from mautic_ctl.store import queue as q

TIERS = ("free", "pro", "enterprise")
VOCAB = Vocabulary(tiers=TIERS, fields={})
EXE = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")


def lifecycle_events(n_users: int = 100, n_events: int = 300, seed: int = 1) -> list[Event]:
    """Signups, upgrades, downgrades, one cancellation at most per user and reactivations, interleaved.

    One cancellation at most, so in a correct run every campaign is entered exactly once per contact
    (a second cancellation would legitimately re-enter Win-back).
    """
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    extra = [0] * n_users
    for _ in range(n_events - n_users):
        extra[rng.randrange(n_users)] += 1
    timeline: list[tuple[datetime, int, dict[str, Any]]] = []
    for u in range(n_users):
        at = start + timedelta(minutes=rng.randrange(600))
        tier = rng.choice(TIERS)
        user = f"user-{seed}-{u}"
        timeline.append((at, len(timeline), {"kind": "signup", "user_id": user, "tier": tier,
                                             "email": f"{user}@example.com", "first_name": f"First{u}"}))  # fmt: skip
        cancelled = used_cancel = False
        for _ in range(extra[u]):
            at += timedelta(minutes=1 + rng.randrange(120))
            if cancelled:
                tier, cancelled = rng.choice(TIERS), False  # reactivation
                to = tier
            elif not used_cancel and rng.random() < 0.25:
                cancelled = used_cancel = True
                to = "cancelled"
            else:
                tier = rng.choice([t for t in TIERS if t != tier])  # upgrade or downgrade
                to = tier
            timeline.append((at, len(timeline), {"kind": "plan_change", "user_id": user, "tier": to}))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return [
        build_event(values.pop("kind"), VOCAB, now=now, event_id=f"w{seed}-{n}", occurred_at=at, **values)
        for n, (at, _, values) in enumerate(timeline)
    ]


def enqueue(db: Path, events: Sequence[Event]) -> None:
    """Record the events in the queue at ``db`` through the store API (as `ingest` does)."""
    conn = connect(db)
    try:
        q.enqueue_many(conn, events, time.time())
    finally:
        conn.close()


def status_counts(db: Path | str) -> dict[str, int]:
    conn = connect(db)  # either store: a SQLite path or a postgresql:// URL
    try:
        return dict(conn.execute("SELECT status, count(*) FROM events GROUP BY status").fetchall())
    finally:
        conn.close()


def event_rows(db: Path | str) -> list[dict[str, Any]]:
    conn = connect(db)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]
    finally:
        conn.close()


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    """A TOML config file (``write_config(p, queue={"lease": 1.0})``), readable by its owner only."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """The current environment without MAUTIC_* variables, plus ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env


def start_queue_run(env: dict[str, str], config: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `mautic-ctl queue run --json` as a subprocess (the caller waits for it or kills it)."""
    return subprocess.Popen(
        [EXE, "queue", "run", "--json", "--config", str(config), *extra],
        env=subprocess_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, dict[str, Any] | None, str]:
    """Wait for a `queue run --json` process: (exit code, its JSON report or None, stderr)."""
    out, err = proc.communicate(timeout=timeout)
    try:
        report = json.loads(out) if out.strip() else None
    except ValueError:
        report = None
    return proc.returncode, report, err.decode(errors="replace")


def drain_until_done(env: dict[str, str], config: Path, db: Path, *, deadline_s: float = 60) -> int:
    """Run `queue run` until every event is finished (waiting out leases of killed workers); runs made."""
    deadline, runs = time.monotonic() + deadline_s, 0
    while True:
        counts = status_counts(db)
        if counts.get("pending", 0) + counts.get("processing", 0) == 0:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"the queue did not drain in {deadline_s} s: {counts}")
        code, _, err = finish(start_queue_run(env, config))
        runs += 1
        assert code in (0, 75), err
        assert "Traceback" not in err, err
        if code == 75:
            time.sleep(0.2)  # a dead worker's lease has not expired yet


def reference_snapshot(mautic: Any, events: Sequence[Event], db: Path, config: Path | None = None) -> dict:
    """Apply ``events`` cleanly (in process, no faults) to a freshly reset emulator; its snapshot.

    The emulator is reset again afterwards. Needs the ``env`` fixture (the Mautic settings in os.environ).
    """
    from mautic_ctl.emulator.config import FaultConfig
    from mautic_ctl.services.drain import run_drain
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.settings import load_settings
    from tests.helpers import snapshot

    mautic.reset()
    mautic.faults = FaultConfig()
    rt = Runtime(load_settings(config, queue={"db": db}))
    try:
        q.enqueue_many(rt.conn, events, time.time())
        run_drain(rt, rt.drain_options())
    finally:
        rt.close()
    assert status_counts(db) == {"done": len(events)}, status_counts(db)
    snap = snapshot(mautic)
    mautic.reset()
    return snap


def campaign_entries(mautic: Any) -> dict[tuple[int, int], int]:
    """(campaign id, contact id) -> how many times the contact entered the campaign."""
    return {key: len(rows) for key, rows in list(mautic.state.campaign_entries.items())}
