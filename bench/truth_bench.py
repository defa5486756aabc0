"""Section 7 of bench/run.py: what "Mautic is the truth" costs (issue 10).

* warm vs cold calls per event: the same free -> pro upgrade for users whose memberships this queue file
  established (warm: planned from the mirror) and for users it never applied (cold: a fresh queue file,
  every contact already in Mautic, so each event first reads the contact, its segments and campaigns);
* `reconcile` of N users against the emulator with the real-Mautic cost profile (mautic51): time and calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mautic_ctl.events import Event, EventKind

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _signup(uid: str) -> Event:
    return Event(EventKind.SIGNUP, uid, f"s-{uid}", T0, source="bench", email=f"{uid}@example.com", tier="free")


def _upgrade(uid: str) -> Event:
    at = T0 + timedelta(days=1)
    return Event(EventKind.PLAN_CHANGE, uid, f"u-{uid}", at, source="bench", email=f"{uid}@example.com", tier="pro")


def _drain(settings: Any, events: list[Event]) -> Any:
    """Record the events and drain them in this process (a subprocess per step costs more than the step)."""
    from mautic_ctl.services.drain import run_drain
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.store import queue as q

    rt = Runtime(settings)
    try:
        q.enqueue_many(rt.conn, events, time.time())
        return run_drain(rt, rt.drain_options())
    finally:
        rt.close()


def run(
    home: Path, emu: Any, *, users: int, reconcile_users: int, settings_for: Callable[..., Any],
    fresh_db: Callable[[Path], Path], restore_latency_ms: float, say: Callable[[str], None],
) -> dict[str, Any]:  # fmt: skip
    """``settings_for(db, campaigns=True)``: the seeded configuration on queue file ``db``."""
    from mautic_ctl.services.reconcile import reconcile
    from mautic_ctl.services.runtime import Runtime

    out: dict[str, Any] = {}

    # warm vs cold -----------------------------------------------------------------------------------
    emu.reset()
    warm_db, cold_db = fresh_db(home / "truth-warm.db"), fresh_db(home / "truth-cold.db")
    warm_users = [f"tw{i}" for i in range(users)]
    cold_users = [f"tc{i}" for i in range(users)]
    setup = _drain(settings_for(warm_db), [_signup(u) for u in warm_users + cold_users])
    assert setup.applied == 2 * users, setup
    for name, db, who in (("warm", warm_db, warm_users), ("cold", cold_db, cold_users)):
        before = emu.state()["counters"]["total"]
        got = _drain(settings_for(db), [_upgrade(u) for u in who])
        calls = emu.state()["counters"]["total"] - before
        assert got.applied == users, got
        out[f"{name}_calls_per_event"] = calls / users
        out[f"{name}_calls"] = calls
    say(
        f"   free -> pro upgrade of {users} users: warm (memberships established by this queue file) "
        f"{out['warm_calls_per_event']:.3f} calls/event; cold (fresh queue file, contacts already in Mautic: "
        f"read first) {out['cold_calls_per_event']:.3f} calls/event"
    )

    # reconcile N users, mautic51 cost profile -------------------------------------------------------
    emu.reset()
    db = fresh_db(home / "truth-reconcile.db")
    # a fast set-up: no campaign configured, so no entries (one call per contact) to make
    created = _drain(settings_for(db, campaigns=False), [_signup(f"r{i}") for i in range(reconcile_users)])
    assert created.applied == reconcile_users, created
    emu.control("POST", "faults", {"profile": "mautic51", "latency_ms": 0})
    try:
        before = emu.state()
        t0 = time.perf_counter()
        rt = Runtime(settings_for(db))
        try:
            report = reconcile(rt)
        finally:
            rt.close()
        seconds = time.perf_counter() - t0
        after = emu.state()
    finally:
        emu.control("POST", "faults", {"profile": "none", "latency_ms": restore_latency_ms})
    calls = after["counters"]["total"] - before["counters"]["total"]
    charged = after.get("charged_seconds", 0) - before.get("charged_seconds", 0)
    out |= {
        "reconcile_users": reconcile_users, "reconcile_seconds": seconds, "reconcile_calls": calls,
        "reconcile_drifted": report.drifted, "reconcile_charged_cpu_s": charged,
    }  # fmt: skip
    say(
        f"   reconcile {reconcile_users:,} users (mautic51 profile, OAuth2): {seconds:.1f} s, {calls} API calls "
        f"({calls / reconcile_users:.3f}/user; emulator charged {charged:.1f} CPU-s), {report.drifted} drifted"
    )
    return out
