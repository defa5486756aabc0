"""Section 1b of bench/run.py: a mixed lifecycle workload (logins + product events + plan changes).

Signed-up users (set up first, not measured) then generate, interleaved in time: 10 logins each, 2
product events each (`feature_used`, a third of them exports worth points; `report_created`, whose 3rd
occurrence tags the user, joins a segment and enters a campaign) and a plan change for every fourth
user. One drain applies them all; the figures are events/s, API calls per event, and the floor: one
call per operation Mautic cannot batch (points, campaign entries, segment leaves) + one batch call per
<= 200 contacts for field/tag updates and per segment for joins + the token fetch, with a user's
queued logins (between two of its other events) counting as the one update they need, and a user's
successive updates in successive calls (per-user order); the looser floor without that is shown too.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from mautic_ctl.events import Event, EventKind, build_event
from mautic_ctl.rules import OpKind, UserState, plan
from mautic_ctl.settings import Settings
from mautic_ctl.store import queue as q

BATCH_LIMIT = 200
UNBATCHABLE = (OpKind.SEGMENT_REMOVE, OpKind.CAMPAIGN_ADD, OpKind.CAMPAIGN_REMOVE, OpKind.POINTS, OpKind.DNC_ADD,
               OpKind.DNC_REMOVE, OpKind.DELETE, OpKind.ANONYMISE)  # fmt: skip
TRACK_CONFIG = """
[[track]]
event = "report_created"
count = 3
add_tags = ["power-user"]
join_segments = ["Power Users"]
enter_campaign = "Power Nurture"

[[track]]
event = "feature_used"
where = { feature = "export" }
add_points = 5
"""


def prepare(url: str, auth: tuple[str, str]) -> None:
    """The segment and campaign the mappings name, created through the API (names, resolved by the drain)."""
    with httpx.Client(base_url=url, auth=auth, timeout=30) as http:
        seg = http.post("/api/segments/new", json={"name": "Power Users"}).raise_for_status().json()["list"]["id"]
        body = {
            "name": "Power Nurture",
            "lists": [{"id": seg}],
            "events": [{"name": "+1", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 1}}],
        }
        http.post("/api/campaigns/new", json=body).raise_for_status()


def config_file(home: Path) -> Path:
    path = home / "mixed.toml"
    path.write_text(TRACK_CONFIG)
    path.chmod(0o600)
    return path


def workload(settings: Settings, n_users: int, *, seed: int = 14) -> tuple[list[Event], list[Event]]:
    """(signups, the mixed events in occurrence order)."""
    rng = random.Random(seed)
    vocab = settings.vocabulary()
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    signups = [
        build_event("signup", vocab, user_id=f"m-u{u}", email=f"m-user{u}@example.com", tier="free",
                    event_id=f"m-signup-{u}", occurred_at=start.isoformat(), now=start)
        for u in range(n_users)
    ]  # fmt: skip
    raw: list[tuple[float, str, dict[str, Any]]] = []
    day = 86400.0
    for u in range(n_users):
        user = f"m-u{u}"
        raw += [(rng.uniform(60, day), "login", {"user_id": user}) for _ in range(10)]
        for _ in range(2):
            if rng.random() < 0.5:
                props = {"feature": rng.choice(["export", "csv", "share"])}
                raw.append((rng.uniform(60, day), "track", {"user_id": user, "name": "feature_used",
                                                           "properties": props}))  # fmt: skip
            else:
                raw.append((rng.uniform(60, day), "track", {"user_id": user, "name": "report_created"}))
        if u % 4 == 0:
            tier = rng.choice(["pro", "enterprise"])
            raw.append((rng.uniform(60, day), "plan_change", {"user_id": user, "tier": tier}))
    raw.sort(key=lambda r: r[0])
    events = []
    for i, (at, kind, values) in enumerate(raw):
        when = start + timedelta(seconds=at)
        events.append(build_event(kind, vocab, event_id=f"m-{i}", occurred_at=when.isoformat(), now=when, **values))
    return signups, events


def floor(settings: Settings, signups: list[Event], events: list[Event], *, in_order: bool) -> dict[str, int]:
    """The fewest calls these events need (see the module docstring); ``in_order``: counting that a
    user's successive updates must go in successive calls (per-user order), as run.py's floor does."""
    policy = settings.policy()
    states: dict[str, UserState] = {}
    for n, e in enumerate(signups):
        states[e.user_id] = replace(plan(e, UserState(), policy).after, contact_id=n + 1)
    parts: Counter[str] = Counter({"token": 1})
    batchable: Counter[tuple[OpKind, str | None]] = Counter()
    per_user: dict[tuple[OpKind, str | None], Counter[str]] = defaultdict(Counter)
    in_login_run: set[str] = set()
    for e in events:
        state = states[e.user_id]
        if e.kind is EventKind.LOGIN:
            if e.user_id in in_login_run:
                continue  # coalesced into the run's one update
            in_login_run.add(e.user_id)
        else:
            in_login_run.discard(e.user_id)
        p = plan(e, state, policy)
        states[e.user_id] = replace(p.after, contact_id=state.contact_id)
        for op in p.ops:
            if op.kind in UNBATCHABLE:
                parts[op.kind.value] += 1
            else:
                batchable[(op.kind, op.target)] += 1
                per_user[(op.kind, op.target)][e.user_id] += 1
    for key, count in batchable.items():
        calls = math.ceil(count / BATCH_LIMIT)
        if in_order:  # a user's successive updates are applied in order: they cannot share one call
            calls = max(calls, max(per_user[key].values()))
        parts[{OpKind.UPDATE: "batch_edit", OpKind.UPSERT: "batch_new"}.get(key[0], "segment_add_batch")] += calls
    parts["total"] = sum(parts.values())
    return dict(parts)


def measured_drain(rt: Any, emu: Any, events: list[Event]) -> tuple[Any, float, dict[str, int]]:
    """Record ``events``, drain once: (report, seconds, the calls Mautic received by route)."""
    from mautic_ctl.services.drain import run_drain

    q.enqueue_many(rt.conn, events, time.time())
    before = emu.state()["counters"]["by_route"]
    t0 = time.perf_counter()
    report = run_drain(rt, rt.drain_options())
    seconds = time.perf_counter() - t0
    after = emu.state()["counters"]["by_route"]
    return report, seconds, {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def run(settings: Settings, emu: Any, auth: tuple[str, str], n_users: int) -> dict[str, Any]:
    """Set up, drain the mixed events once, and return the figures."""
    from mautic_ctl.services.drain import run_drain
    from mautic_ctl.services.runtime import Runtime

    signups, events = workload(settings, n_users)
    rt = Runtime(settings)
    q.enqueue_many(rt.conn, signups, time.time())
    setup = run_drain(rt, rt.drain_options())
    if setup.applied != len(signups):
        raise RuntimeError(f"mixed workload: {setup.applied} of {len(signups)} signups applied")
    report, seconds, routes = measured_drain(rt, emu, events)
    calls = sum(routes.values())
    if report.applied + report.superseded != len(events):
        raise RuntimeError(f"mixed workload: {report.applied} of {len(events)} applied ({report.dead} dead)")
    # then logins alone: 10 per user, nothing between them
    vocab = settings.vocabulary()
    later = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    logins = [
        build_event("login", vocab, user_id=f"m-u{u}", event_id=f"m-login-{k}-{u}", now=later + timedelta(minutes=k))
        for k in range(10)
        for u in range(n_users)
    ]
    only, only_seconds, only_calls = measured_drain(rt, emu, logins)
    if only.applied != len(logins):
        raise RuntimeError(f"logins only: {only.applied} of {len(logins)} applied")
    db = rt.settings.queue.db
    rt.close()
    conn = sqlite3.connect(db)
    results = conn.execute("SELECT event_id, result FROM events WHERE kind = 'login'").fetchall()
    coalesced = sum(1 for (eid, r) in results if "coalesced_into" in json.loads(r) and not eid.startswith("m-login"))
    only_coalesced = sum(1 for (eid, r) in results if "coalesced_into" in json.loads(r) and eid.startswith("m-login"))
    conn.close()
    mix = Counter(e.kind.value for e in events)
    need = floor(settings, signups, events, in_order=True)
    loose = floor(settings, signups, events, in_order=False)
    by_kind: dict[str, int] = defaultdict(int)
    for kind, n in mix.items():
        by_kind[kind] = n
    return {
        "users": n_users,
        "events": len(events),
        "mix": dict(by_kind),
        "seconds": seconds,
        "events_per_s": len(events) / seconds,
        "calls": calls,
        "calls_per_event": calls / len(events),
        "floor": need,
        "floor_per_event": need["total"] / len(events),
        "floor_any_grouping": loose["total"],
        "login_updates": mix["login"] - coalesced,
        "logins_coalesced": coalesced,
        "superseded": report.superseded,
        "by_route": routes,
        "logins_only": {
            "logins": len(logins),
            "field_updates": len(logins) - only_coalesced,
            "calls": sum(only_calls.values()),
            "by_route": only_calls,
            "seconds": only_seconds,
        },
    }
