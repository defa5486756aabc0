"""`mautic-ctl ingest` killed with SIGKILL while it writes: nothing half-recorded, a re-run records the rest once."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import time

import pytest

from tests.workload import EXE, subprocess_env

RECORDS = 20_000


def recorded(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_killed_ingest_resumes_without_loss_or_duplicates(env, db_path, tmp_path):
    """Three SIGKILLs mid-ingest, then a full run: every record recorded exactly once, none half-written."""
    source = tmp_path / "events.jsonl"
    lines = (
        json.dumps({"type": "signup", "user_id": f"u{i}", "email": f"u{i}@example.com", "tier": "pro"})
        for i in range(RECORDS)
    )
    source.write_text("\n".join(lines) + "\n")
    rng = random.Random(7)
    counts = []
    for _ in range(3):
        target = recorded(db_path) + rng.randrange(500, 5000)  # ingest commits 500 records per transaction
        proc = subprocess.Popen([EXE, "ingest", str(source)], env=subprocess_env(env), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 30
        while proc.poll() is None and recorded(db_path) < target and time.monotonic() < deadline:
            time.sleep(0.003)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        proc.kill()
        proc.communicate()
        counts.append(recorded(db_path))
    assert 0 < counts[0] < counts[-1] < RECORDS, counts
    res = subprocess.run([EXE, "ingest", str(source), "--json"], env=subprocess_env(env), capture_output=True)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["recorded"] + report["duplicate"] == RECORDS
    assert report["duplicate"] == counts[-1]  # what the killed runs committed is recognised, not re-recorded
    conn = sqlite3.connect(db_path)
    total, users = conn.execute("SELECT count(*), count(DISTINCT user_id) FROM events").fetchone()
    conn.close()
    assert total == users == RECORDS
