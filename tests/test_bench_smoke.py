"""Smoke test of the benchmark script (bench/run.py): it runs end to end and writes well-formed figures.

No timing assertion: the figures depend on the machine. Only their presence and sanity are checked.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"

EXPECTED = {
    "drain": {"batched_events_per_s", "sequential_events_per_s", "ratio", "calls_per_event", "calls_floor"},
    "burst100": {"seconds"},
    "real_profile_100": {"oauth2_s", "basic_s"},
    "startup": {"cli_ms", "python_ms"},
    "queue_scale": {"1000", "100000", "1000000"},
    "truth": {"warm_calls_per_event", "cold_calls_per_event", "reconcile_seconds", "reconcile_calls"},
    "mixed": {"events_per_s", "calls_per_event", "floor_per_event", "login_updates"},
}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.mark.timeout(330)
def test_quick_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # bounded; the quick run has grown with every section (PostgreSQL, reconcile, dashboard …)
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    for section, keys in EXPECTED.items():
        assert keys <= set(doc[section]), (section, sorted(doc[section]))
        for key in keys:
            assert _positive(doc[section][key]), (section, key, doc[section][key])
    drain = doc["drain"]
    # the floor is a lower bound on the calls any drain can make
    assert drain["calls_per_event"] >= drain["calls_floor"] * 0.999
    assert drain["ratio"] == pytest.approx(drain["batched_events_per_s"] / drain["sequential_events_per_s"])
    assert doc["machine"]["cores"] >= 1
    assert "== summary" in proc.stdout
