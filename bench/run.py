"""Benchmark of issue 5: drain throughput, start-up, a burst of CLI submissions, a real-server prediction,
queue scale. A script that prints figures, not a timed test.

    python bench/run.py                  # the full run: about 4 minutes on 2 cores
    python bench/run.py --json out.json  # also write the figures as JSON
    python bench/run.py --quick          # a smaller run (the smoke test, tests/test_bench_smoke.py)
    python bench/run.py --full-sequential  # the sequential drain over all 1000 events (+1 minute)

Everything runs against the Mautic emulator served on loopback as a separate process
(`mautic-ctl emulator --port N --latency-ms 20`), as a real Mautic would be; the drains of section 1
run in this process. Section 1 also drains against the emulator in a thread of this process (how the
tests run it), at 20 ms and at 0 ms injected latency, to show what sharing the GIL does to the figures.

Sections (printed in this order): 1 drain (batched vs sequential, API calls vs their floor),
3 start-up (+ `python -X importtime`), 2 burst of `mautic-ctl signup` processes, 3b the `mautic51`
cost profile with OAuth2 and with HTTP Basic, 4 queue claim + settle over 10^3..10^6 finished rows,
6 the queue on PostgreSQL (bench/pg_bench.py): SQLite x1 vs PostgreSQL x1/x2/x4 workers under the
`mautic51` profile, 1 vs 4 workers at 100 ms per call, claim + settle over 10^3..10^6 finished rows.
Start-up runs before the burst so the burst's 100 processes do not linger in its figures.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dashboard as dashboard_bench  # bench/dashboard.py, beside this script
import httpx
import mixed  # bench/mixed.py: section 1b

from mautic_ctl.emulator.seed import SEED_CAMPAIGNS, SEED_SEGMENTS
from mautic_ctl.events import Event, build_event
from mautic_ctl.rules import OpKind, UserState, plan
from mautic_ctl.settings import Settings, load_settings
from mautic_ctl.store import connect, mirror
from mautic_ctl.store import queue as q

LATENCY_MS = 20.0
CORES = os.cpu_count() or 1
BATCH_LIMIT = 200  # Mautic's api_batch_max_limit
UNBATCHABLE = (OpKind.SEGMENT_REMOVE, OpKind.CAMPAIGN_ADD, OpKind.CAMPAIGN_REMOVE)
CLIENT_ID, CLIENT_SECRET = "1_emulator", "emulator-secret"
BASIC_USER, BASIC_PASSWORD = "admin", "mautic-emulator"
TIERS = ("free", "pro", "enterprise")


def cli_path() -> str:
    """The console script of this interpreter (not a pyenv shim, which adds its own start-up)."""
    beside = Path(sys.executable).with_name("mautic-ctl")
    return str(beside) if beside.exists() else (shutil.which("mautic-ctl") or "mautic-ctl")


# --- environment -----------------------------------------------------------------------------------


def base_env(home: Path) -> dict[str, str]:
    """This process's environment without any MAUTIC_* variable, with an empty config home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")}
    env |= {"XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"), "NO_COLOR": "1"}
    return env


def mautic_env(url: str, db: Path, *, auth: str = "oauth2") -> dict[str, str]:
    env = {
        "MAUTIC_BASE_URL": url,
        "MAUTIC_CTL_DB": str(db),
        "MAUTIC_NEW_USERS_SEGMENT_ID": str(SEED_SEGMENTS["new_users"]),
        "MAUTIC_FREE_TIER_SEGMENT_ID": str(SEED_SEGMENTS["free"]),
        "MAUTIC_PRO_TIER_SEGMENT_ID": str(SEED_SEGMENTS["pro"]),
        "MAUTIC_ENTERPRISE_TIER_SEGMENT_ID": str(SEED_SEGMENTS["enterprise"]),
        "MAUTIC_CHURNED_SEGMENT_ID": str(SEED_SEGMENTS["churned"]),
        "MAUTIC_WELCOME_CAMPAIGN_ID": str(SEED_CAMPAIGNS["welcome"]),
        "MAUTIC_PRO_ONBOARDING_CAMPAIGN_ID": str(SEED_CAMPAIGNS["onboarding_pro"]),
        "MAUTIC_ENTERPRISE_ONBOARDING_CAMPAIGN_ID": str(SEED_CAMPAIGNS["onboarding_enterprise"]),
        "MAUTIC_RETENTION_CAMPAIGN_ID": str(SEED_CAMPAIGNS["retention"]),
        "MAUTIC_WINBACK_CAMPAIGN_ID": str(SEED_CAMPAIGNS["winback"]),
    }
    if auth == "oauth2":
        env |= {"MAUTIC_CLIENT_ID": CLIENT_ID, "MAUTIC_CLIENT_SECRET": CLIENT_SECRET}
    else:
        env |= {"MAUTIC_USERNAME": BASIC_USER, "MAUTIC_PASSWORD": BASIC_PASSWORD}
    return env


@contextlib.contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_for(home: Path, url: str, db: Path, *, auth: str = "oauth2", campaigns: bool = True) -> Settings:
    env = base_env(home) | mautic_env(url, db, auth=auth)
    if not campaigns:
        env = {k: v for k, v in env.items() if not k.endswith("_CAMPAIGN_ID")}
    with environ(env):
        return load_settings()


def fresh_db(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm", ".migrate-lock"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
    return path


# --- the emulator ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """An emulator driven through its HTTP control API (`/_emulator/*`), wherever it runs."""

    kind = "?"
    url = ""

    def control(self, method: str, action: str, body: dict[str, Any] | None = None) -> Any:
        r = httpx.request(method, f"{self.url}/_emulator/{action}", json=body, timeout=30)
        r.raise_for_status()
        return r.json()

    def reset(self, **faults: Any) -> None:
        self.control("POST", "reset", {})
        if faults:
            self.control("POST", "faults", faults)

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")

    def stop(self) -> None:  # pragma: no cover - overridden
        pass


class ProcessEmulator(Emulator):
    """`mautic-ctl emulator --port N --latency-ms L` as a child process: its own GIL, like a real Mautic."""

    kind = "process"

    def __init__(self, home: Path, latency_ms: float) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [cli_path(), "emulator", "--port", str(port), "--latency-ms", f"{latency_ms:g}"]
        self.log = (home / f"emulator-{port}.log").open("wb")
        self.proc = subprocess.Popen(args, env=base_env(home), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.state()
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start (see {self.log.name})") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class ThreadEmulator(Emulator):
    """The emulator in a uvicorn thread of this process (`start_in_thread`, as the tests run it): it shares
    this process's GIL with the drain."""

    kind = "thread"

    def __init__(self, latency_ms: float) -> None:
        from mautic_ctl.emulator.config import EmulatorConfig, FaultConfig
        from mautic_ctl.emulator.server import start_in_thread

        self.handle = start_in_thread(EmulatorConfig(faults=FaultConfig(latency_ms=latency_ms)))
        self.url = self.handle.url

    def stop(self) -> None:
        self.handle.stop()


# --- the workload ----------------------------------------------------------------------------------


def workload(settings: Settings, n_events: int, n_users: int, *, seed: int = 5, prefix: str = "w") -> list[Event]:
    """Signups, then upgrades, downgrades, cancellations (and re-activations of cancelled users),
    interleaved in time over `n_users` users; returned in occurrence order (the order they are queued)."""
    rng = random.Random(seed)
    vocab = settings.vocabulary()
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    span = 30 * 86400
    signup_at = sorted(rng.uniform(0, span * 0.7) for _ in range(n_users))
    # who gets the later events: a few busy users, most with one to three changes
    owners = rng.choices(range(n_users), k=max(0, n_events - n_users))
    changes: dict[int, list[float]] = defaultdict(list)
    for u in owners:
        changes[u].append(rng.uniform(signup_at[u] + 60, span))
    raw: list[tuple[float, int, str, dict[str, Any]]] = []
    for u in range(n_users):
        tier = rng.choices(TIERS, weights=(6, 3, 1))[0]
        email = f"{prefix}-user{u}@example.com"
        raw.append((signup_at[u], u, "signup", {"email": email, "tier": tier, "first_name": f"User{u}"}))
        cancelled = False
        for at in sorted(changes[u]):
            if cancelled:
                to, cancelled = rng.choices(TIERS, weights=(3, 5, 2))[0], False  # comes back
            else:
                rank = TIERS.index(tier)
                options = [(t, 5) for t in TIERS[rank + 1 :]] + [(t, 3) for t in TIERS[:rank]] + [("cancelled", 3)]
                to = rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]
                cancelled = to == "cancelled"
            if not cancelled:
                tier = to
            raw.append((at, u, "plan_change", {"tier": to}))
    raw.sort(key=lambda r: r[0])
    events = []
    for i, (at, u, kind, values) in enumerate(raw):
        occurred = start + timedelta(seconds=at)
        events.append(
            build_event(
                kind,
                vocab,
                user_id=f"{prefix}-u{u}",
                now=occurred,
                event_id=f"{prefix}-{i}",
                occurred_at=occurred.isoformat(),
                **values,
            )
        )
    return events


@dataclass
class PlannedEvent:
    event: Event
    wave: int  # 0 for a user's first event, 1 for its second …
    transition: str
    ops: list[Any]  # the operations that need a call (blind leaves of a just-created contact dropped)


def planned(settings: Settings, events: Sequence[Event]) -> list[PlannedEvent]:
    """Run the pure rules over the events in queue order, as the drain does (fresh Mautic, empty mirror)."""
    policy = settings.policy()
    states: dict[str, UserState] = {}
    seen: Counter[str] = Counter()
    out = []
    for n, ev in enumerate(events):
        state = states.get(ev.user_id, UserState())
        p = plan(ev, state, policy)
        created = state.contact_id is None  # every email is new to the fresh emulator: the upsert creates it
        ops = [op for op in p.ops if not (created and op.blind)]
        out.append(PlannedEvent(ev, seen[ev.user_id], p.transition.value, ops))
        seen[ev.user_id] += 1
        states[ev.user_id] = replace(p.after, contact_id=state.contact_id or n + 1)
    return out


def call_floor(plans: Sequence[PlannedEvent], *, token_fetches: int = 1, in_order: bool = False) -> dict[str, int]:
    """The fewest calls Mautic needs for these planned operations: one call per operation Mautic cannot
    batch (segment leave, campaign enter/leave); one batch call per <=200 contacts for creates and for
    updates, and one per segment per <=200 ids for joins; plus the token fetch.

    ``in_order``: also count that a user's successive updates (or joins of one segment) cannot share
    a call, as they must be applied in order (a tighter floor, still independent of any grouping)."""
    parts = Counter({"token": token_fetches})
    kinds = Counter(op.kind for pe in plans for op in pe.ops)
    per_user: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for pe in plans:
        for op in pe.ops:
            if op.kind in (OpKind.UPSERT, OpKind.UPDATE, OpKind.SEGMENT_ADD):
                per_user[(op.kind, op.target)][pe.event.user_id] += 1
    for (kind, _target), users in per_user.items():
        calls = math.ceil(sum(users.values()) / BATCH_LIMIT)
        if in_order:
            calls = max(calls, max(users.values()))
        parts[{OpKind.UPSERT: "batch_new", OpKind.UPDATE: "batch_edit"}.get(kind, "segment_add_batch")] += calls
    for kind in UNBATCHABLE:
        parts[kind.value] += kinds[kind]
    parts["total"] = sum(parts.values())
    return dict(parts)


def grouped_calls(groups: Sequence[Sequence[PlannedEvent]], *, token_fetches: int = 1) -> int:
    """The calls needed when each group of events is applied together (one round per group)."""
    return sum(call_floor(g, token_fetches=0, in_order=True)["total"] for g in groups) + token_fetches


def by_wave(plans: Sequence[PlannedEvent]) -> list[list[PlannedEvent]]:
    waves: dict[int, list[PlannedEvent]] = defaultdict(list)
    for pe in plans:
        waves[pe.wave].append(pe)
    return [waves[k] for k in sorted(waves)]


def by_round(plans: Sequence[PlannedEvent], pks: Sequence[int], db: Path) -> list[list[PlannedEvent]]:
    """The drain's actual rounds: every event settled by one round shares its `finished_at`."""
    conn = sqlite3.connect(db)
    finished = dict(conn.execute("SELECT id, finished_at FROM events"))
    conn.close()
    rounds: dict[float, list[PlannedEvent]] = defaultdict(list)
    for pe, pk in zip(plans, pks, strict=True):
        rounds[finished[pk]].append(pe)
    return [rounds[k] for k in sorted(rounds)]


# --- section 1: drain throughput -------------------------------------------------------------------


def drain_once(home: Path, emu: Emulator, events: Sequence[Event], *, batched: bool, tag: str) -> dict[str, Any]:
    from mautic_ctl.services.drain import run_drain
    from mautic_ctl.services.runtime import Runtime

    db = fresh_db(home / f"drain-{tag}.db")
    settings = settings_for(home, emu.url, db)
    emu.reset()
    rt = Runtime(settings)
    got = q.enqueue_many(rt.conn, events, time.time())
    options = rt.drain_options(batched=batched)
    t0 = time.perf_counter()
    report = run_drain(rt, options)
    seconds = time.perf_counter() - t0
    rt.close()
    st = emu.state()
    counters = st["counters"]
    if report.applied != len(events):
        raise RuntimeError(f"drain {tag}: {report.applied} of {len(events)} applied ({report.outcomes})")
    return {
        "events": len(events),
        "seconds": seconds,
        "events_per_s": len(events) / seconds,
        "calls": counters["total"],  # what reached the emulator, token fetches included
        "client_calls": report.calls,
        "calls_per_event": counters["total"] / len(events),
        "by_route": counters["by_route"],
        "concurrency": options.concurrency,
        "pks": [g.pk for g in got],
        "db": db,
    }


# --- section 2: burst of CLI submissions -----------------------------------------------------------


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine_busy() -> float:
    """CPU-seconds the whole machine has spent busy (all processes, all cores) since boot; 0 if unknown."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def burst(home: Path, emu: Emulator, n: int, *, apply: bool) -> dict[str, Any]:
    db = fresh_db(home / f"burst-{'apply' if apply else 'noapply'}.db")
    env = base_env(home) | mautic_env(emu.url, db)
    subprocess.run([cli_path(), "queue", "stats", "--json"], env=env, check=True, capture_output=True)  # migrate
    emu.reset()
    rng = random.Random(100)
    cmds = []
    for i in range(n):
        tier = rng.choices(TIERS, weights=(6, 3, 1))[0]
        cmd = [cli_path(), "signup", "--user-id", f"b{i}", "--email", f"burst{i}@example.com", "--tier", tier, "--json"]
        cmds.append([*cmd, "--no-apply"] if not apply else cmd)
    cpu0, busy0 = children_cpu(), machine_busy()
    wall0, t0 = time.time(), time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    spawned = time.perf_counter() - t0
    outs = [p.communicate() for p in procs]
    submitted = time.perf_counter() - t0
    run = subprocess.run([cli_path(), "queue", "run", "--json"], env=env, capture_output=True, check=False)
    total = time.perf_counter() - t0
    cpu, busy = children_cpu() - cpu0, machine_busy() - busy0
    failures = [(p.returncode, err.decode()[-300:]) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode]
    statuses = Counter(
        json.loads(out).get("status") for p, (out, _) in zip(procs, outs, strict=True) if not p.returncode
    )
    drained = json.loads(run.stdout) if run.returncode == 0 else {"error": run.stderr.decode()[-300:]}
    counts = emu.state()["counts"]
    conn = sqlite3.connect(db)
    done = conn.execute("SELECT count(*) FROM events WHERE status = 'done'").fetchone()[0]
    recorded = sorted(r[0] - wall0 for r in conn.execute("SELECT created_at FROM events"))
    last_fin = conn.execute("SELECT max(finished_at) FROM events").fetchone()[0]
    conn.close()
    ok = done == n and counts["contacts"] == n and counts["campaign_entries"] >= n and not failures
    return {
        "n": n,
        "apply": apply,
        "seconds": total,
        "spawn_s": spawned,
        "all_exited_s": submitted,
        "queue_run_s": total - submitted,
        "queue_run_applied": drained.get("applied"),
        "statuses": dict(statuses),
        "failures": failures[:3],
        "cpu_s": cpu,
        "cpu_per_process_ms": 1000 * cpu / (n + 1),
        "machine_busy_cpu_s": busy,
        "machine_capacity_cpu_s": total * CORES,
        "first_recorded_s": recorded[0] if recorded else None,
        "median_recorded_s": statistics.median(recorded) if recorded else None,
        "last_recorded_s": recorded[-1] if recorded else None,
        "last_applied_s": (last_fin - wall0) if last_fin else None,
        "ok": ok,
        "emulator_counts": counts,
    }


def burst_http(home: Path, emu: Emulator, n: int) -> dict[str, Any]:
    """n concurrent POST /events to `mautic-ctl webhook serve --apply`: the one-process way to take a burst."""
    import asyncio

    import httpx

    db = fresh_db(home / "burst-http.db")
    port = free_port()
    token = "bench-events-token"
    env = base_env(home) | mautic_env(emu.url, db) | {"MAUTIC_CTL_EVENTS_TOKEN": token}
    subprocess.run([cli_path(), "queue", "stats", "--json"], env=env, check=True, capture_output=True)  # migrate
    emu.reset()
    server = subprocess.Popen(
        [cli_path(), "webhook", "serve", "--port", str(port), "--apply"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("webhook serve did not start")
            time.sleep(0.05)
        rng = random.Random(200)
        bodies = [
            {"type": "signup", "user_id": f"h{i}", "email": f"http{i}@example.com",
             "tier": rng.choices(TIERS, weights=(6, 3, 1))[0], "event_id": f"bench-http-{i}"}
            for i in range(n)
        ]  # fmt: skip

        async def send() -> list[int]:
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=n)) as c:
                answers = await asyncio.gather(*(c.post("/events", json=b, headers=headers) for b in bodies))
            return [a.status_code for a in answers]

        t0 = time.perf_counter()
        statuses = asyncio.run(send())
        acknowledged = time.perf_counter() - t0
        conn = sqlite3.connect(db)
        while True:
            done = conn.execute("SELECT count(*) FROM events WHERE status = 'done'").fetchone()[0]
            if done >= n or time.perf_counter() - t0 > 120:
                break
            time.sleep(0.02)
        total = time.perf_counter() - t0
        conn.close()
    finally:
        server.terminate()
        server.wait(10)
    counts = emu.state()["counts"]
    return {
        "n": n,
        "seconds": total,
        "acknowledged_s": acknowledged,
        "statuses": dict(Counter(statuses)),
        "done": done,
        "ok": done == n and counts["contacts"] == n and statuses == [200] * n,
    }


# --- section 3: start-up ---------------------------------------------------------------------------


def startup(home: Path, url: str, runs: int) -> dict[str, Any]:
    db = fresh_db(home / "startup.db")
    env = base_env(home) | mautic_env(url, db)
    subprocess.run([cli_path(), "queue", "stats", "--json"], env=env, check=True, capture_output=True)  # migrate

    def signup(i: int) -> list[str]:
        return [cli_path(), "signup", "--no-apply", "--user-id", f"s{i}", "--email", f"s{i}@example.com", "--json"]

    def timed(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return 1000 * (time.perf_counter() - t0)

    timed(signup(-1))  # warm the page cache and the bytecode cache
    timed([sys.executable, "-c", "pass"])
    cli, py, imp = [], [], []
    for i in range(runs):  # interleaved, so drift on the machine hits all three alike
        py.append(timed([sys.executable, "-c", "pass"]))
        cli.append(timed(signup(i)))
        imp.append(timed([sys.executable, "-c", "import mautic_ctl.cli"]))
    result = {
        "runs": runs,
        "cli_ms": statistics.median(cli),
        "python_ms": statistics.median(py),
        "import_cli_ms": statistics.median(imp),
        "cli_min_ms": min(cli),
        "python_min_ms": min(py),
    }
    result["overhead_ms"] = result["cli_ms"] - result["python_ms"]
    result["imports"] = import_profile(env, [*signup(10_000)], runs=3 if runs >= 5 else 1)
    # CPU per process (user + sys, one process at a time): what a burst of N processes costs on the cores
    apply_cmd = [cli_path(), "signup", "--user-id", "a{i}", "--email", "a{i}@example.com", "--json"]
    result["cpu_ms"] = {
        "python -c pass": cpu_per_run([[sys.executable, "-c", "pass"]] * runs, env),
        "signup --no-apply": cpu_per_run([signup(20_000 + i) for i in range(runs)], env),
        "signup (record + apply)": cpu_per_run([[a.format(i=i) for a in apply_cmd] for i in range(min(runs, 6))], env),
    }
    result["apply_imports"] = import_profile(env, [a.format(i=30_000) for a in apply_cmd], runs=1)
    return result


def cpu_per_run(cmds: Sequence[list[str]], env: dict[str, str]) -> float:
    """Median-free but exact: the children's user+sys CPU in ms, divided by the number of runs."""
    cpu0 = children_cpu()
    for cmd in cmds:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 1000 * (children_cpu() - cpu0) / len(cmds)


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(env: dict[str, str], cmd: list[str], *, runs: int) -> dict[str, Any]:
    """`python -X importtime` on the command (median of `runs`): where its import time goes."""
    samples: list[dict[str, tuple[int, int, int]]] = []
    for r in range(runs):
        args = [sys.executable, "-X", "importtime", cmd[0], *cmd[1:]]
        args[args.index("--user-id") + 1] += f"-{r}"
        args[args.index("--email") + 1] = f"imp{r}@example.com"
        proc = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
        mods: dict[str, tuple[int, int, int]] = {}
        for line in proc.stderr.splitlines():
            m = _IMPORT_LINE.match(line)
            if m:
                mods[m.group(4)] = (int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2)
        samples.append(mods)
    names = set.intersection(*(set(s) for s in samples))
    self_us = {n: statistics.median(s[n][0] for s in samples) for n in names}
    cum_us = {n: statistics.median(s[n][1] for s in samples) for n in names}
    depth = {n: samples[0][n][2] for n in names}
    per_package: Counter[str] = Counter()
    for n, us in self_us.items():
        per_package[n.split(".")[0]] += us
    total_ms = sum(self_us.values()) / 1000
    stdlib = set(sys.stdlib_module_names)
    third = {p: us for p, us in per_package.items() if p not in stdlib and not p.startswith("_")}
    # the biggest single imports by inclusive time, skipping the entry point's own chain (mautic_ctl.cli)
    top_cum = sorted(
        ((n, cum_us[n] / 1000, self_us[n] / 1000, depth[n]) for n in names if not n.startswith("mautic_ctl.cli")),
        key=lambda t: -t[1],
    )
    outer = []  # keep only the outermost import of each chain among the biggest
    for name, cum, self_ms, d in top_cum:
        if len(outer) == 10:
            break
        if not any(name.startswith(o[0] + ".") for o in outer):
            outer.append((name, cum, self_ms, d))
    return {
        "total_import_ms": total_ms,
        "packages_ms": {p: us / 1000 for p, us in per_package.most_common(12)},
        "third_party_ms": {p: us / 1000 for p, us in sorted(third.items(), key=lambda kv: -kv[1])},
        "top_inclusive": [{"module": n, "cumulative_ms": c, "self_ms": s, "depth": d} for n, c, s, d in outer],
        "mautic_ctl_modules": sorted(
            ((n, cum_us[n] / 1000) for n in names if n.startswith("mautic_ctl")), key=lambda t: -t[1]
        )[:12],
    }


# --- section 3b: real-server prediction (mautic51 cost profile) ------------------------------------


def profile_drain(home: Path, emu: Emulator, settings_home: Path, n: int, *, auth: str) -> dict[str, Any]:
    db = fresh_db(home / f"profile-{auth}.db")
    settings = settings_for(settings_home, emu.url, db, auth=auth)
    events = workload(settings, n, n, seed=33, prefix=f"p{auth}")
    conn = connect(db)
    q.enqueue_many(conn, events, time.time())
    conn.close()
    emu.reset(profile="mautic51", latency_ms=0)
    charged0 = emu.state()["charged_seconds"]
    env = base_env(home) | mautic_env(emu.url, db, auth=auth)
    t0 = time.perf_counter()
    run = subprocess.run([cli_path(), "queue", "run", "--json"], env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - t0
    st = emu.state()
    emu.reset(profile="none", latency_ms=LATENCY_MS)
    if run.returncode != 0:
        raise RuntimeError(f"queue run ({auth}) failed: {run.stderr.decode()[-500:]}")
    out = json.loads(run.stdout)
    charged = st["charged_seconds"] - charged0
    plans = planned(settings, events)
    floor = call_floor(plans, token_fetches=1 if auth == "oauth2" else 0)
    return {
        "n": n,
        "auth": auth,
        "seconds": seconds,
        "drain_seconds": out["seconds"],
        "applied": out["applied"],
        "calls": st["counters"]["total"],
        "calls_floor": floor["total"],
        "charged_cpu_s": charged,
        "charged_over_2_cores_s": charged / 2,
        "critical_path_s": profile_critical_path(plans, auth),
    }


def profile_critical_path(plans: Sequence[PlannedEvent], auth: str) -> float:
    """A lower bound on a real Mautic 5.1 (2 cores, the emulator's cost table) for one drain: the batch
    create is one PHP request (one core), then the joins and the unbatchable calls share both cores."""
    from mautic_ctl.emulator.faults import request_cost

    kind = "basic" if auth == "basic" else "bearer"
    creates = sum(1 for pe in plans for op in pe.ops if op.kind is OpKind.UPSERT)
    joins = Counter(op.target for pe in plans for op in pe.ops if op.kind is OpKind.SEGMENT_ADD)
    singles = sum(1 for pe in plans for op in pe.ops if op.kind in UNBATCHABLE)
    token = request_cost("token", None) if auth != "basic" else 0.0
    create = request_cost(kind, "/api/contacts/batch/new", creates)
    join_cost = sum(request_cost(kind, "/api/segments/{id}/contacts/add", n, n) for n in joins.values())
    single_cost = singles * request_cost(kind, "/api/campaigns/{id}/contact/{cid}/add")
    longest_join = max((request_cost(kind, "/api/segments/{id}/contacts/add", n, n) for n in joins.values()), default=0)
    return token + create + max(longest_join, join_cost / 2) + single_cost / 2


# --- section 4: queue scale ------------------------------------------------------------------------

FINISHED_PAYLOAD = json.dumps(
    {
        "email": "someone@example.com",
        "event_id": "x",
        "first_name": "Ann",
        "kind": "signup",
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "source": "bench",
        "tier": "pro",
        "user_id": "u",
    },
    sort_keys=True,
    separators=(",", ":"),
)


def add_finished(db: Path, upto: int, have: int) -> float:
    """Insert finished (done) rows have+1..upto straight into SQLite with a recursive CTE."""
    t0 = time.perf_counter()
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("BEGIN")
    raw.execute(
        """WITH RECURSIVE c(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM c WHERE n < ?)
           INSERT INTO events (source, event_id, user_id, kind, payload, occurred_at, status, attempts,
                               next_attempt_at, progress, result, created_at, updated_at, finished_at)
           SELECT 'bench', 'fin-' || n, 'u' || (n % 50000), 'signup', ?, '2026-01-01T00:00:00+00:00', 'done', 1,
                  0, '{"contact_id":1,"done":["campaign_add:welcome","segment_add:new_users","upsert"]}',
                  '{"contact_id":1,"transition":"signup"}', 0, 0, n FROM c""",
        (have + 1, upto, FINISHED_PAYLOAD),
    )
    raw.execute("COMMIT")
    raw.close()
    return time.perf_counter() - t0


def queue_round(conn: sqlite3.Connection, settings: Settings, batch: int, rep: int) -> dict[str, float]:
    """One drain round's queue work, without Mautic: enqueue `batch` events, claim them, settle them."""
    vocab = settings.vocabulary()
    now = datetime(2026, 2, 1, tzinfo=UTC)
    events = [
        build_event(
            "signup",
            vocab,
            user_id=f"u{(rep * batch + i) % 50000}",
            email=f"q{rep}-{i}@example.com",
            event_id=f"scale-{rep}-{i}",
            now=now,
        )
        for i in range(batch)
    ]
    t0 = time.perf_counter()
    q.enqueue_many(conn, events, time.time())
    t1 = time.perf_counter()
    claimed = q.claim(conn, limit=batch, lease_s=300, now=time.time(), owner="bench")
    t2 = time.perf_counter()
    assert len(claimed) == batch, len(claimed)
    ts = time.time()
    settlements, users = [], []
    for i, c in enumerate(claimed):
        progress = q.Progress(["campaign_add:welcome", "segment_add:new_users", "upsert"], contact_id=i + 1)
        settlements.append(q.Settlement(c.pk, q.Status.DONE, progress, result={"contact_id": i + 1}))
        state = UserState(
            known=True,
            contact_id=i + 1,
            email=c.event.email,
            tier="free",
            status="active",
            segments=frozenset({"new_users", "tier:free"}),
            campaigns=frozenset({"welcome"}),
        )
        users.append(mirror.user_params(c.event.user_id, state, c.event.occurred_at, ts))
    guarded = {"owner": "bench"} if "owner" in inspect.signature(q.settle).parameters else {}  # as the drain does
    t3 = time.perf_counter()
    q.settle(conn, settlements, ts, mirror_updates=users, **guarded)
    t4 = time.perf_counter()
    return {"enqueue_ms": 1000 * (t1 - t0), "claim_ms": 1000 * (t2 - t1), "settle_ms": 1000 * (t4 - t3)}


def queue_scale(home: Path, settings_home: Path, sizes: Sequence[int], batch: int, reps: int) -> dict[str, Any]:
    db = fresh_db(home / "scale.db")
    settings = settings_for(settings_home, "http://127.0.0.1:1", db)
    connect(db).close()
    have, out = 0, {}
    for rep_base, size in enumerate(sizes):
        load_s = add_finished(db, size, have)
        have = size
        conn = connect(db)
        queue_round(conn, settings, batch, 1000 + rep_base)  # warm-up round (page cache, statement cache)
        rounds = [queue_round(conn, settings, batch, rep_base * reps + r) for r in range(reps)]
        conn.close()
        fig = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        fig["claim_settle_ms"] = statistics.median(r["claim_ms"] + r["settle_ms"] for r in rounds)
        fig["load_s"] = load_s
        fig["db_mb"] = os.path.getsize(db) / 1e6
        out[str(size)] = fig
    return out


# --- reporting ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "loadavg": _loadavg(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def say(text: str = "") -> None:
    print(text, flush=True)


def section(title: str) -> None:
    say()
    say(f"== {title}")


@dataclass
class Sizes:
    drain_events: int
    drain_users: int
    sequential_every: int  # the sequential drain runs the events of every k-th user (same mix, per-user order)
    burst: int
    startup_runs: int
    profile_n: int
    profile_basic_n: int
    scale: tuple[int, ...]
    scale_reps: int
    compare: bool  # also drain against the emulator in a thread of this process, at 20 and 0 ms
    dashboard_events: int = 100_000
    pg_events: int = 2000  # section 6 (PostgreSQL): events of the side-by-side drain (mautic51 profile)
    pg_latency_events: int = 1000  # ... of the 100 ms drain, 1 vs 2 vs 4 workers
    pg_workers: tuple[int, ...] = (1, 2, 4)
    pg_scale: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    truth_users: int = 300  # section 7: warm vs cold upgrades
    reconcile_users: int = 10_000  # section 7: one reconcile, mautic51 profile
    mixed_users: int = 1000  # section 1b: signed-up users behind the mixed lifecycle workload


FULL = Sizes(1000, 300, 3, 100, 15, 100, 100, (1_000, 100_000, 1_000_000), 5, True)
# quick: section 6 only proves its code runs (the smoke test has 60 s for everything)
QUICK = Sizes(
    120, 40, 6, 3, 3, 10, 1, (1_000, 100_000, 1_000_000), 1, False, 5_000, 20, 0, (1,), (1_000,), 10, 50, mixed_users=20
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--full-sequential", action="store_true", help="sequential drain of all the events")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.full_sequential:
        sizes = replace(sizes, sequential_every=1)
    started = time.perf_counter()
    mach = machine()
    say(f"mautic-ctl benchmark ({'quick' if args.quick else 'full'} run)")
    say(f"machine: {mach['cores']} cores ({mach['cpu']}), Python {mach['python']}, SQLite {mach['sqlite']}")
    say(f"         {mach['platform']}; load average at start {mach['loadavg']}")
    results: dict[str, Any] = {"machine": mach, "quick": args.quick}

    with tempfile.TemporaryDirectory(prefix="mautic-ctl-bench-") as tmp:
        home = Path(tmp)
        say(f"work dir: {home} (the SQLite files live here, synchronous=FULL)")
        emu = ProcessEmulator(home, LATENCY_MS)
        try:
            run_sections(home, emu, sizes, results)
        finally:
            emu.stop()
    results["wall_s"] = time.perf_counter() - started
    results["machine"]["loadavg_end"] = _loadavg()
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(public(results), indent=2, sort_keys=True, default=str))
        say(f"wrote {args.json}")
    return 0


def run_sections(home: Path, emu: ProcessEmulator, sizes: Sizes, results: dict[str, Any]) -> None:
    settings = settings_for(home, emu.url, home / "unused.db")
    events = workload(settings, sizes.drain_events, sizes.drain_users)
    plans = planned(settings, events)
    mix = Counter(pe.transition for pe in plans)
    waves = max(pe.wave for pe in plans) + 1

    # 1. drain -------------------------------------------------------------------------------------
    section(f"1. drain {len(events)} events over {sizes.drain_users} users, {LATENCY_MS:g} ms latency per call")
    say(f"   mix: {dict(mix.most_common())}; up to {waves} events per user")
    idle = call_latency(emu.url)
    say(f"   emulator: {emu.kind} ({emu.url}); the drain runs in this process; idle call {idle:.1f} ms")
    if idle > LATENCY_MS + 15:
        say(f"   WARNING: an idle call takes {idle:.0f} ms for {LATENCY_MS:g} ms injected: the emulator adds delay")
    b = drain_once(home, emu, events, batched=True, tag="batched")
    floor = call_floor(plans)
    floor_in_order = call_floor(plans, in_order=True)["total"]
    rounds = by_round(plans, b["pks"], b["db"])
    need_waves = grouped_calls(by_wave(plans))
    need_rounds = grouped_calls(rounds)
    say(
        f"   (a) batched   : {b['events_per_s']:7.1f} events/s  {b['seconds']:6.2f} s  {b['calls']} calls "
        f"= {b['calls_per_event']:.3f}/event  (concurrency {b['concurrency']}, {len(rounds)} rounds)"
    )
    say(f"       calls by route: {b['by_route']}")
    say(
        f"       floor: {floor['total']} calls = {floor['total'] / len(events):.3f}/event; {floor_in_order} if a "
        f"user's successive updates/joins cannot share a call; {need_waves} with the events grouped by their "
        f"rank in their user's sequence ({waves} groups); {need_rounds} with the drain's own {len(rounds)} rounds"
    )
    say(f"       floor parts: {floor}")
    users = list(dict.fromkeys(ev.user_id for ev in events))[:: sizes.sequential_every]
    keep = set(users)
    seq_events = [ev for ev in events if ev.user_id in keep]
    s = drain_once(home, emu, seq_events, batched=False, tag="sequential")
    seq_expected = sum(len(pe.ops) for pe in plans if pe.event.user_id in keep) + 1
    note = ""
    if len(seq_events) != len(events):
        note = f" (the {len(seq_events)} events of every {sizes.sequential_every}th user)"
    say(
        f"   (b) sequential: {s['events_per_s']:7.1f} events/s  {s['seconds']:6.2f} s  {s['calls']} calls "
        f"= {s['calls_per_event']:.3f}/event{note}; one call per planned operation would be {seq_expected}"
    )
    ratio = b["events_per_s"] / s["events_per_s"]
    say(
        f"   ratio (a)/(b): {ratio:.1f}x (goal >= 10x); calls measured/floor: {b['calls'] / floor['total']:.3f} "
        "(goal <= 1.10)"
    )
    results["drain"] = {
        "events": len(events),
        "users": sizes.drain_users,
        "latency_ms": LATENCY_MS,
        "emulator": emu.kind,
        "idle_call_ms": idle,
        "batched_events_per_s": b["events_per_s"],
        "batched_seconds": b["seconds"],
        "sequential_events_per_s": s["events_per_s"],
        "sequential_events": len(seq_events),
        "sequential_seconds": s["seconds"],
        "ratio": ratio,
        "calls": b["calls"],
        "calls_by_route": b["by_route"],
        "calls_per_event": b["calls_per_event"],
        "calls_floor": floor["total"] / len(events),
        "calls_floor_total": floor["total"],
        "calls_floor_parts": floor,
        "calls_floor_in_user_order": floor_in_order,
        "calls_needed_by_rank_groups": need_waves,
        "calls_needed_by_drain_rounds": need_rounds,
        "sequential_calls_per_event": s["calls_per_event"],
        "rounds": len(rounds),
        "mix": dict(mix),
    }
    if sizes.compare:
        # the same batched drain against the emulator in a thread of this process, at 20 ms and at 0 ms
        for latency in (LATENCY_MS, 0.0):
            for kind in ("process", "thread"):
                o_emu: Emulator = emu if kind == "process" else ThreadEmulator(latency)
                try:
                    if kind == "process":
                        emu.reset(latency_ms=latency)
                    cpu0 = time.process_time()
                    o = drain_once(home, o_emu, events, batched=True, tag=f"compare-{kind}")
                    cpu = time.process_time() - cpu0
                finally:
                    if kind == "process":
                        emu.reset(latency_ms=LATENCY_MS)
                    else:
                        o_emu.stop()
                say(
                    f"   (a) at {latency:g} ms, emulator {kind:7}: {o['events_per_s']:6.1f} events/s, "
                    f"{o['seconds']:5.2f} s; this process busy {cpu:.2f} CPU-s = {cpu / o['seconds']:.0%} of the wall"
                    + (" (drain + emulator on one GIL)" if kind == "thread" else " (drain only)")
                )
                results["drain"].setdefault("compare", {})[f"{kind} {latency:g} ms"] = {
                    "batched_events_per_s": o["events_per_s"],
                    "seconds": o["seconds"],
                    "cpu_s_this_process": cpu,
                }

    # 1b. mixed lifecycle workload -------------------------------------------------------------------
    section(
        f"1b. mixed lifecycle workload over {sizes.mixed_users} signed-up users: logins + product events + plan "
        f"changes, one drain, {LATENCY_MS:g} ms latency per call"
    )
    emu.reset()
    mixed.prepare(emu.url, (BASIC_USER, BASIC_PASSWORD))
    db = fresh_db(home / "mixed.db")
    with environ(base_env(home) | mautic_env(emu.url, db)):
        mixed_settings = load_settings(mixed.config_file(home))
    m = mixed.run(mixed_settings, emu, (BASIC_USER, BASIC_PASSWORD), sizes.mixed_users)
    say(f"   mix: {m['mix']}")
    say(
        f"   {m['events']} events in {m['seconds']:.2f} s = {m['events_per_s']:.0f} events/s; {m['calls']} calls = "
        f"{m['calls_per_event']:.3f}/event; floor {m['floor']['total']} = {m['floor_per_event']:.3f}/event "
        f"(x{m['calls'] / m['floor']['total']:.2f})"
    )
    say(f"   floor parts: {m['floor']} (with any grouping, ignoring per-user order: {m['floor_any_grouping']})")
    say(
        f"   {m['mix'].get('login', 0)} logins cost {m['login_updates']} field updates "
        f"({m['logins_coalesced']} coalesced into them), {m['superseded']} events superseded"
    )
    lo = m["logins_only"]
    say(
        f"   then {lo['logins']} logins alone (10 per user): {lo['field_updates']} field updates in {lo['calls']} "
        f"calls ({lo['by_route']}), {lo['seconds']:.2f} s"
    )
    results["mixed"] = m

    # 3. start-up ------------------------------------------------------------------------------------
    section(
        f"3. start-up: `mautic-ctl signup --no-apply` vs `python -c pass` (median of {sizes.startup_runs}, "
        f"interleaved); load average {_loadavg()}"
    )
    st = startup(home, emu.url, sizes.startup_runs)
    say(
        f"   signup --no-apply {st['cli_ms']:.0f} ms, python -c pass {st['python_ms']:.0f} ms -> "
        f"+{st['overhead_ms']:.0f} ms (goal <= +120); python -c 'import mautic_ctl.cli' {st['import_cli_ms']:.0f} ms"
    )
    imp = st["imports"]
    say(
        f"   python -X importtime (median of 3 runs): {imp['total_import_ms']:.0f} ms of imports in all "
        "(importtime itself inflates this)"
    )
    say("   top 10 imports by inclusive time (the outermost import of each chain; indent = nesting depth):")
    for row in imp["top_inclusive"]:
        say(f"      {row['cumulative_ms']:7.1f} ms  (self {row['self_ms']:5.1f})  {'  ' * row['depth']}{row['module']}")
    say(
        "   exclusive import time per top-level package (ms): "
        + ", ".join(f"{p} {ms:.0f}" for p, ms in list(imp["packages_ms"].items())[:12])
    )
    say(
        "   mautic_ctl modules (inclusive ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in imp["mautic_ctl_modules"][:8])
    )
    cpu = st["cpu_ms"]
    say("   CPU per process, run one at a time (user+sys): " + ", ".join(f"{k} {v:.0f} ms" for k, v in cpu.items()))
    n = sizes.burst
    say(
        f"   -> {n} processes need at least {n * cpu['signup (record + apply)'] / 1000 / CORES:.1f} s "
        f"(record + apply) or {n * cpu['signup --no-apply'] / 1000 / CORES:.1f} s (--no-apply) of {CORES} cores"
    )
    ai = st["apply_imports"]
    say(
        f"   the apply path imports {ai['total_import_ms']:.0f} ms (importtime); biggest: "
        + ", ".join(f"{r['module']} {r['cumulative_ms']:.0f}" for r in ai["top_inclusive"][:6])
    )
    results["startup"] = st

    # 2. burst ---------------------------------------------------------------------------------------
    section(
        f"2. {sizes.burst} `mautic-ctl signup` processes at once, then one `queue run` "
        f"({LATENCY_MS:g} ms latency); load average {_loadavg()}"
    )
    results["burst"] = {}
    for apply in (True, False):
        r = burst(home, emu, sizes.burst, apply=apply)
        label = "record+apply" if apply else "--no-apply  "
        say(f"   {label}: {r['seconds']:6.2f} s from the first submission until `queue run` returned; ok={r['ok']}")
        say(
            f"      events recorded at {r['first_recorded_s']:.2f} / {r['median_recorded_s']:.2f} / "
            f"{r['last_recorded_s']:.2f} s (first / median / last); last applied at {r['last_applied_s']:.2f} s; "
            f"processes spawned by {r['spawn_s']:.2f} s, all exited by {r['all_exited_s']:.2f} s; "
            f"`queue run` {r['queue_run_s']:.2f} s applied {r['queue_run_applied']}"
        )
        say(
            f"      CPU: the {r['n'] + 1} processes {r['cpu_s']:.1f} s ({r['cpu_per_process_ms']:.0f} ms each); "
            f"machine busy {r['machine_busy_cpu_s']:.1f} of {r['machine_capacity_cpu_s']:.1f} CPU-s available "
            f"(the rest of the busy time is the emulator, this script and other work on the machine)"
        )
        if r["failures"] or not r["ok"]:
            say(f"      statuses {r['statuses']}, failures {r['failures']}, emulator {r['emulator_counts']}")
        results["burst"]["apply" if apply else "no_apply"] = r
    r = burst_http(home, emu, sizes.burst)
    say(
        f"   POST /events: {r['seconds']:6.2f} s from the first of {r['n']} concurrent requests until all applied "
        f"(all acknowledged after {r['acknowledged_s']:.2f} s, answers {r['statuses']}); ok={r['ok']}"
    )
    results["burst"]["http"] = r
    results["burst100"] = {
        "seconds": results["burst"]["apply"]["seconds"],
        "no_apply_seconds": results["burst"]["no_apply"]["seconds"],
        "http_events_seconds": r["seconds"],
        "processes": sizes.burst,
    }

    # 3b. real-server prediction ---------------------------------------------------------------------
    section(
        "3b. real-server prediction: recorded signups drained by one `mautic-ctl queue run`, emulator profile "
        "mautic51 (no added latency)"
    )
    results["real_profile"] = {}
    for auth, n in (("oauth2", sizes.profile_n), ("basic", sizes.profile_basic_n)):
        r = profile_drain(home, emu, home, n, auth=auth)
        say(
            f"   {auth:6}: {n} signups {r['seconds']:6.2f} s wall ({r['drain_seconds']:.2f} s in the drain), "
            f"{r['calls']} calls (floor {r['calls_floor']}); emulator charged {r['charged_cpu_s']:.1f} CPU-s "
            f"= {r['charged_over_2_cores_s']:.1f} s on 2 cores; modelled lower bound {r['critical_path_s']:.2f} s"
        )
        results["real_profile"][auth] = r
    results["real_profile_100"] = {
        "oauth2_s": results["real_profile"]["oauth2"]["seconds"],
        "basic_s": results["real_profile"]["basic"]["seconds"],
        "signups": sizes.profile_n,
        "basic_signups": sizes.profile_basic_n,
    }

    # 4. queue scale ---------------------------------------------------------------------------------
    section(
        f"4. queue scale: one round of 200 events over N finished rows (median of {sizes.scale_reps}); "
        f"load average {_loadavg()}"
    )
    qs = queue_scale(home, home, sizes.scale, 200, sizes.scale_reps)
    for size, fig in qs.items():
        say(
            f"   {int(size):>9,} finished: claim {fig['claim_ms']:6.1f} ms + settle {fig['settle_ms']:6.1f} ms "
            f"= {fig['claim_settle_ms']:6.1f} ms; enqueue {fig['enqueue_ms']:6.1f} ms "
            f"(db {fig['db_mb']:.0f} MB, rows loaded in {fig['load_s']:.1f} s)"
        )
    results["queue_scale_detail"] = qs
    results["queue_scale"] = {k: v["claim_settle_ms"] for k, v in qs.items()}

    # 5. dashboard -----------------------------------------------------------------------------------
    section(f"5. dashboard: each page over loopback HTTP with {sizes.dashboard_events:,} events in the store (median)")
    results["dashboard"] = dash = dashboard_bench.run(home, sizes.dashboard_events)
    for page, ms in dash["pages_ms"].items():
        say(f"   {page:15} {ms:6.1f} ms")

    # 6. PostgreSQL -----------------------------------------------------------------------------------
    section(
        f"6. the queue on PostgreSQL: {sizes.pg_events} events (mautic51 profile) SQLite x1 vs PostgreSQL "
        f"x{'/'.join(map(str, sizes.pg_workers))} `queue work` processes; {sizes.pg_latency_events} events at "
        f"100 ms/call; claim + settle over finished rows; load average {_loadavg()}"
    )
    from pg_bench import run_section  # bench/pg_bench.py (this directory is on sys.path)

    pg_events = workload(settings, sizes.pg_events, sizes.pg_events // 2, seed=51, prefix="pg")
    # (b) independent users (4 workers claim up to 4 x 200 at once, one event per user); (b') chains of events
    pg_latency = workload(settings, sizes.pg_latency_events, sizes.pg_latency_events, seed=52, prefix="pl")
    pg_chained = workload(settings, sizes.pg_latency_events, sizes.pg_latency_events * 4 // 5, seed=53, prefix="pc")
    results["postgres"] = run_section(
        home, emu, events=pg_events, latency_events=pg_latency, chained_events=pg_chained,
        workers=sizes.pg_workers, scale=sizes.pg_scale,
        reps=sizes.scale_reps, env=base_env(home) | mautic_env(emu.url, home / "unused.db"), cli=cli_path(),
        fresh_sqlite=fresh_db, round_fn=lambda conn, rep: queue_round(conn, settings, 200, rep),
        payload=FINISHED_PAYLOAD, restore_latency_ms=LATENCY_MS, say=say,
    )  # fmt: skip

    # 7. Mautic is the truth ---------------------------------------------------------------------------
    section(
        f"7. Mautic is the truth: warm vs cold calls per event ({sizes.truth_users} users each), reconcile of "
        f"{sizes.reconcile_users:,} users with the mautic51 cost profile; load average {_loadavg()}"
    )
    import truth_bench  # bench/truth_bench.py

    results["truth"] = truth_bench.run(
        home, emu, users=sizes.truth_users, reconcile_users=sizes.reconcile_users,
        settings_for=lambda db, campaigns=True: settings_for(home, emu.url, db, campaigns=campaigns),
        fresh_db=fresh_db, restore_latency_ms=LATENCY_MS, say=say,
    )  # fmt: skip


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def call_latency(url: str, n: int = 30) -> float:
    """Median wall time of one authenticated GET on an idle emulator (keep-alive connection)."""
    with httpx.Client(base_url=url, auth=(BASIC_USER, BASIC_PASSWORD)) as c:
        token = c.post(
            "/oauth/v2/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        c.get("/api/segments/1", headers=headers)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            c.get("/api/segments/1", headers=headers).raise_for_status()
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def public(results: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: the figures the issue asks for, plus the details behind them."""
    d = results["drain"]
    doc = {
        "drain": {
            k: d[k]
            for k in ("batched_events_per_s", "sequential_events_per_s", "ratio", "calls_per_event", "calls_floor")
        },
        "burst100": results["burst100"],
        "real_profile_100": results["real_profile_100"],
        "startup": {"cli_ms": results["startup"]["cli_ms"], "python_ms": results["startup"]["python_ms"]},
        "queue_scale": results["queue_scale"],
        "mixed": {
            k: results["mixed"][k] for k in ("events_per_s", "calls_per_event", "floor_per_event", "login_updates")
        },
        "machine": results["machine"],
        "quick": results["quick"],
        "wall_s": results["wall_s"],
        "details": {
            "drain": {k: v for k, v in d.items()},
            "burst": results["burst"],
            "startup": results["startup"],
            "real_profile": results["real_profile"],
            "queue_scale": results["queue_scale_detail"],
        },
    }
    if results.get("truth"):
        doc["truth"] = results["truth"]
    if results.get("postgres"):
        pg = results["postgres"]
        doc["postgres"] = {
            k: pg[k] for k in ("postgresql", "drain_mautic51", "drain_100ms", "speedup_100ms", "queue_scale")
        }
        doc["details"]["postgres_queue_scale"] = pg["queue_scale_detail"]
    return doc


def print_table(results: dict[str, Any]) -> None:
    def sized(flag: bool) -> str:  # a goal stated for the full sizes
        return "(quick run: sizes differ)" if results["quick"] else _ok(flag)

    d, b, st, rp, qs = (results[k] for k in ("drain", "burst100", "startup", "real_profile_100", "queue_scale"))
    rows: list[tuple[str, str, str, str]] = [
        (
            "1 drain batched",
            f"{d['batched_events_per_s']:.0f} events/s",
            "",
            f"{d['events']} events, 20 ms/call, emulator {d['emulator']}",
        ),
        ("1 drain sequential", f"{d['sequential_events_per_s']:.1f} events/s", "", f"{d['sequential_events']} events"),
        ("1 ratio batched/sequential", f"{d['ratio']:.1f}x", ">= 10x", sized(d["ratio"] >= 10)),
        (
            "1 calls/event (floor)",
            f"{d['calls_per_event']:.3f} ({d['calls_floor']:.3f})",
            "<= floor x1.10",
            _ok(d["calls_per_event"] <= 1.10 * d["calls_floor"]),
        ),
    ]
    for kind, c in d.get("compare", {}).items():
        rows.append((f"1 drain batched, emulator {kind}", f"{c['batched_events_per_s']:.0f} events/s", "", ""))
    m = results["mixed"]
    rows += [
        (
            f"1b mixed {m['events']} events (logins+tracks+plans)",
            f"{m['events_per_s']:.0f} events/s",
            "",
            f"{m['users']} users, {m['login_updates']} login updates for {m['mix'].get('login', 0)} logins",
        ),
        (
            "1b calls/event (floor)",
            f"{m['calls_per_event']:.3f} ({m['floor_per_event']:.3f})",
            "<= floor x1.10",
            _ok(m["calls_per_event"] <= 1.10 * m["floor_per_event"]),
        ),
    ]
    rows += [
        (f"2 burst {b['processes']} signup processes", f"{b['seconds']:.2f} s", "<= 5 s", sized(b["seconds"] <= 5)),
        (f"2 burst {b['processes']} --no-apply + queue run", f"{b['no_apply_seconds']:.2f} s", "", ""),
        (
            f"2 burst {b['processes']} POST /events (1 process)",
            f"{b['http_events_seconds']:.2f} s",
            "<= 5 s",
            sized(b["http_events_seconds"] <= 5),
        ),
        ("3 start-up signup --no-apply", f"{st['cli_ms']:.0f} ms", "", f"python -c pass {st['python_ms']:.0f} ms"),
        ("3 start-up overhead", f"+{st['overhead_ms']:.0f} ms", "<= +120 ms", _ok(st["overhead_ms"] <= 120)),
        (
            f"3b mautic51 OAuth2, {rp['signups']} signups",
            f"{rp['oauth2_s']:.2f} s",
            "<= 6 s",
            sized(rp["oauth2_s"] <= 6),
        ),
        (f"3b mautic51 Basic, {rp['basic_signups']} signups", f"{rp['basic_s']:.2f} s", "", "README: use OAuth2"),
    ]
    base = None
    for size, ms in qs.items():
        base = base or ms
        rows.append((f"4 claim+settle 200 @ {int(size):,} done", f"{ms:.1f} ms", "flat", f"x{ms / base:.2f}"))
    dash = results["dashboard"]
    rows.append((f"5 dashboard slowest page @ {dash['events']:,} events", f"{dash['slowest_ms']:.1f} ms", "< 200 ms",
                 sized(dash["slowest_ms"] < 200)))  # fmt: skip
    pg = results.get("postgres")
    if pg:
        for name, r in pg["drain_mautic51"].items():
            rows.append((f"6 mautic51 drain, {name}", f"{r['events_per_s']:.1f} events/s",
                         "", f"{r['calls_per_event']:.3f} calls/event"))  # fmt: skip
        for name, r in pg["drain_100ms"].items():
            rows.append((f"6 100 ms/call drain, postgresql {name}", f"{r['events_per_s']:.1f} events/s", "", ""))
        for name, r in pg["drain_100ms_chained"].items():
            rows.append((f"6 100 ms/call, per-user chains, {name}", f"{r['events_per_s']:.1f} events/s", "", ""))
        if pg.get("speedup_100ms"):
            rows.append(("6 4 workers / 1 at 100 ms", f"{pg['speedup_100ms']:.2f}x", ">= 2.5x",
                         sized(pg["speedup_100ms"] >= 2.5)))  # fmt: skip
        pg_base = None
        for size, ms in pg["queue_scale"].items():
            pg_base = pg_base or ms
            label = f"6 PostgreSQL claim+settle 200 @ {int(size):,}"
            rows.append((label, f"{ms:.1f} ms", "flat", f"x{ms / pg_base:.2f}"))
    tr = results.get("truth")
    if tr:
        rows.append(("7 calls/event warm (first-hand) upgrade", f"{tr['warm_calls_per_event']:.3f}", "",
                     "planned from the mirror: no read"))  # fmt: skip
        rows.append(("7 calls/event cold upgrade", f"{tr['cold_calls_per_event']:.3f}", "",
                     "fresh queue file: contact, segments, campaigns read first"))  # fmt: skip
        rows.append((f"7 reconcile {tr['reconcile_users']:,} users, mautic51", f"{tr['reconcile_seconds']:.1f} s",
                     "", f"{tr['reconcile_calls']} API calls"))  # fmt: skip
    say()
    say(f"== summary (wall {results['wall_s']:.0f} s)")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("figure", "value", "goal", "note")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    say("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    say("  ".join("-" * w for w in widths))
    for r in rows:
        say("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
