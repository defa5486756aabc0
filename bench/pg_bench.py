"""Section 5 of bench/run.py: the queue on PostgreSQL, side by side with SQLite, in the same run.

(a) Drain of N events against the emulator with the `mautic51` cost profile: SQLite with one
    `queue work` process vs PostgreSQL with 1, 2 and 4 `queue work` processes (events/s, calls/event).
(b) The same on PostgreSQL with 100 ms per call and no cost profile (one worker is latency-bound), over
    independent users (one event each), and (b') over users with several events: a user's events run one
    round after another whatever the number of workers (per-user order), so their chains bound the drain.
    1 vs 2 vs 4 workers; goal: 4 workers >= 2.5x one.
(c) Claim + settle of a 200-event round over 10^3 / 10^5 / 10^6 finished rows on PostgreSQL.

PostgreSQL is a throwaway server from the `pgserver` wheel (the test extra); without it the section says
so and is skipped.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mautic_ctl.store import connect
from mautic_ctl.store import queue as q


class Postgres:
    """A pgserver instance in a short /tmp directory (its Unix socket lives there)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
        self.dir = tempfile.mkdtemp(prefix="mcbench")
        self.server = pgserver.get_server(self.dir, cleanup_mode="stop")
        self.admin_url = self.server.get_uri()
        self._n = 0

    def fresh(self) -> str:
        import psycopg

        self._n += 1
        name = f"bench{self._n}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return self.admin_url.replace("/postgres?", f"/{name}?", 1)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]

    def stop(self) -> None:
        from mautic_ctl.store import pg

        pg.close_pools()
        self.server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def drain_with_workers(
    store: str, events: Sequence[Any], workers: int, env: dict[str, str], cli: str, emu: Any
) -> dict[str, Any]:
    """Record ``events`` in ``store``, start ``workers`` `queue work` processes at once, time until all are done.

    `queue work` rather than `queue run`: a burst worker exits as soon as the due events left are held back
    by per-user order (another worker holds the user's older event), which would understate N workers.
    """
    conn = connect(store)
    q.enqueue_many(conn, events, time.time())
    calls0 = emu.state()["counters"]["total"]
    emu_cpu0, workers_cpu0 = _proc_cpu(getattr(getattr(emu, "proc", None), "pid", None)), _children_cpu()
    run_env = env | {"MAUTIC_CTL_DB": store}
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([cli, "queue", "work", "--json"], env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 1800
        while True:
            counts = dict(conn.execute("SELECT status, count(*) FROM events GROUP BY status").fetchall())
            if counts.get("pending", 0) + counts.get("processing", 0) == 0 or time.monotonic() > deadline:
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=120) for p in procs]
        conn.close()
    bad = [(p.returncode, err.decode()[-300:]) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode]
    if bad or counts != {"done": len(events)}:
        raise RuntimeError(f"drain with {workers} workers on {store[:20]}: {counts}, failures {bad}")
    calls = emu.state()["counters"]["total"] - calls0
    emu_cpu = _proc_cpu(getattr(getattr(emu, "proc", None), "pid", None)) - emu_cpu0
    return {
        "emulator_cpu_s": emu_cpu,  # the emulator's own process: one Python process serving every worker
        "workers_cpu_s": _children_cpu() - workers_cpu0,
        "workers": workers,
        "events": len(events),
        "seconds": seconds,
        "events_per_s": len(events) / seconds,
        "calls": calls,
        "calls_per_event": calls / len(events),
    }


def _proc_cpu(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def add_finished_pg(url: str, upto: int, have: int, payload: str) -> float:
    """Insert finished rows have+1..upto with generate_series (as the SQLite bench does with a CTE)."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO events (source, event_id, user_id, kind, payload, occurred_at, status, attempts,
                                   next_attempt_at, progress, result, created_at, updated_at, finished_at)
               SELECT 'bench', 'fin-' || n, 'u' || (n %% 50000), 'signup', %s, '2026-01-01T00:00:00+00:00',
                      'done', 1, 0,
                      '{"contact_id":1,"done":["campaign_add:welcome","segment_add:new_users","upsert"]}',
                      '{"contact_id":1,"transition":"signup"}', 0, 0, n
               FROM generate_series(%s::bigint, %s::bigint) AS n""",
            (payload, have + 1, upto),
        )
        conn.execute("ANALYZE events")
    return time.perf_counter() - t0


def queue_scale_pg(
    url: str, sizes: Sequence[int], reps: int, payload: str, round_fn: Callable[[Any, int], dict[str, float]]
) -> dict[str, Any]:
    connect(url).close()  # create the schema
    have, out = 0, {}
    for base, size in enumerate(sizes):
        load_s = add_finished_pg(url, size, have, payload)
        have = size
        conn = connect(url)
        round_fn(conn, 1000 + base)  # warm-up
        rounds = [round_fn(conn, base * reps + r) for r in range(reps)]
        conn.close()
        fig = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        fig["claim_settle_ms"] = statistics.median(r["claim_ms"] + r["settle_ms"] for r in rounds)
        fig["load_s"] = load_s
        out[str(size)] = fig
    return out


def run_section(
    home: Path,
    emu: Any,
    *,
    events: Sequence[Any],
    latency_events: Sequence[Any],
    chained_events: Sequence[Any],
    workers: Sequence[int],
    scale: Sequence[int],
    reps: int,
    env: dict[str, str],
    cli: str,
    fresh_sqlite: Callable[[Path], Path],
    round_fn: Callable[[Any, int], dict[str, float]],
    payload: str,
    restore_latency_ms: float,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    try:
        pg = Postgres()
    except ImportError:
        say("   skipped: pgserver is not installed (pip install -e '.[test]')")
        return None
    try:
        out: dict[str, Any] = {
            "postgresql": pg.version(), "drain_mautic51": {}, "drain_100ms": {}, "drain_100ms_chained": {},
        }  # fmt: skip
        say(f"   PostgreSQL {out['postgresql']} (pgserver, local Unix socket), store and workers on this machine")
        # (a) mautic51 profile: SQLite 1 worker, then PostgreSQL 1/2/4
        emu.reset(profile="mautic51", latency_ms=0)
        runs = [("sqlite", 1)] + [("postgresql", w) for w in workers]
        for engine, w in runs:
            emu.reset(profile="mautic51", latency_ms=0)
            store = str(fresh_sqlite(home / "pg-compare.db")) if engine == "sqlite" else pg.fresh()
            r = drain_with_workers(store, events, w, env, cli, emu)
            out["drain_mautic51"][f"{engine} x{w}"] = r
            say(
                f"   (a) mautic51, {engine:10} x{w}: {r['events_per_s']:7.1f} events/s  {r['seconds']:6.2f} s  "
                f"{r['calls_per_event']:.3f} calls/event"
            )
        # (b) 100 ms per call, no cost profile: a latency-bound worker
        for w in workers if latency_events else ():
            emu.reset(profile="none", latency_ms=100)
            r = drain_with_workers(pg.fresh(), latency_events, w, env, cli, emu)
            out["drain_100ms"][f"x{w}"] = r
            say(
                f"   (b) 100 ms/call, postgresql x{w}: {r['events_per_s']:7.1f} events/s  {r['seconds']:6.2f} s  "
                f"{r['calls_per_event']:.3f} calls/event; CPU: emulator {r['emulator_cpu_s']:.1f} s, "
                f"workers {r['workers_cpu_s']:.1f} s (of {2 * r['seconds']:.0f} CPU-s on 2 cores)"
            )
        out["speedup_100ms"] = None
        if latency_events and len(workers) > 1:
            one, most = out["drain_100ms"][f"x{workers[0]}"], out["drain_100ms"][f"x{workers[-1]}"]
            out["speedup_100ms"] = most["events_per_s"] / one["events_per_s"]
            say(f"       {workers[-1]} workers / 1 worker at 100 ms: {out['speedup_100ms']:.2f}x (goal >= 2.5x)")
        users = len({e.user_id for e in chained_events})
        for w in (workers[0], workers[-1]) if chained_events and len(workers) > 1 else ():
            emu.reset(profile="none", latency_ms=100)
            r = drain_with_workers(pg.fresh(), chained_events, w, env, cli, emu)
            out["drain_100ms_chained"][f"x{w}"] = r
            say(
                f"   (b') 100 ms/call, {len(chained_events)} events of {users} users, postgresql x{w}: "
                f"{r['events_per_s']:7.1f} events/s  {r['seconds']:6.2f} s"
            )
        emu.reset(profile="none", latency_ms=restore_latency_ms)
        # (c) claim + settle over finished rows
        qs = queue_scale_pg(pg.fresh(), scale, reps, payload, round_fn)
        for size, fig in qs.items():
            say(
                f"   (c) {int(size):>9,} finished: claim {fig['claim_ms']:6.1f} ms + settle {fig['settle_ms']:6.1f} ms "
                f"= {fig['claim_settle_ms']:6.1f} ms; enqueue {fig['enqueue_ms']:6.1f} ms "
                f"(rows loaded in {fig['load_s']:.1f} s)"
            )
        out["queue_scale"] = {k: v["claim_settle_ms"] for k, v in qs.items()}
        out["queue_scale_detail"] = qs
        return out
    finally:
        pg.stop()
