"""Monitoring: the queue's health as a node-exporter textfile, and the alarms cron can exit on.

The textfile is written with prometheus-client's ``write_to_textfile`` (a temp file renamed into place,
so node-exporter never reads half a file). Metric names follow Prometheus conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautic_ctl.errors import Unhealthy


def queue_health(db: Path, now: float, *, prometheus: Path | None = None) -> dict[str, Any]:
    """The queue's figures and its last run; with ``prometheus``, also written as a textfile.

    Reads the store only (no Mautic, no settings model), so a monitoring cron stays cheap.
    """
    from mautic_ctl.store import connect
    from mautic_ctl.store import queue as q
    from mautic_ctl.store.runs import last_run

    conn = connect(db)
    try:
        health = q.stats(conn, now)
        health["last_run"] = last_run(conn)
    finally:
        conn.close()
    if prometheus is not None:
        write_textfile(prometheus, health, health["last_run"])
    return health


def write_textfile(path: Path, stats: dict[str, Any], last_run: dict[str, Any] | None) -> None:
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    registry = CollectorRegistry()
    events = Gauge("mautic_ctl_queue_events", "Events in the queue by status.", ["status"], registry=registry)
    for status, n in stats["counts"].items():
        events.labels(status=status).set(n)
    Gauge("mautic_ctl_queue_due_events", "Events due now.", registry=registry).set(stats["due"])
    Gauge(
        "mautic_ctl_queue_oldest_due_age_seconds", "Age of the oldest due event (0 when none).", registry=registry
    ).set(stats["oldest_due_age_s"] or 0)
    Gauge("mautic_ctl_queue_dead_events", "Dead events (need `queue retry` after a fix).", registry=registry).set(
        stats["counts"]["dead"]
    )
    Gauge(
        "mautic_ctl_applied_events_total", "Events applied to Mautic (done) still in the queue file.", registry=registry
    ).set(stats["counts"]["done"])
    if last_run is not None:
        Gauge(
            "mautic_ctl_last_run_timestamp_seconds",
            "When the last `queue run` finished (unix time).",
            registry=registry,
        ).set(last_run["finished_at"])
        Gauge("mautic_ctl_last_run_success", "1 when the last `queue run` exited 0, else 0.", registry=registry).set(
            1 if last_run["exit_code"] == 0 else 0
        )
        Gauge("mautic_ctl_last_run_exit_code", "Exit code of the last `queue run`.", registry=registry).set(
            last_run["exit_code"]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


@dataclass(frozen=True, slots=True)
class Alarms:
    backlog: int | None = None  # alarm when more than this many events are open
    dead: bool = False  # alarm when any event is dead


def check_alarms(stats: dict[str, Any], alarms: Alarms) -> None:
    """Unhealthy (exit 4) naming every alarm that fired."""
    counts = stats["counts"]
    backlog = counts["pending"] + counts["processing"]
    fired = []
    if alarms.backlog is not None and backlog > alarms.backlog:
        fired.append(f"backlog {backlog} > {alarms.backlog} (due now: {stats['due']})")
    if alarms.dead and counts["dead"]:
        fired.append(f"{counts['dead']} dead event(s); see `mautic-ctl queue list --status dead`")
    if fired:
        raise Unhealthy("queue alarm: " + "; ".join(fired) + ".")
