"""Dashboard page loads over a store with N events, served by uvicorn on loopback (bench/run.py section 5).

The store is filled straight through SQLite (a recursive CTE: done, dead and pending events over
many users, with audit rows), then each page is fetched over real HTTP; the figure is the median
of several loads after one warm-up. Goal (issue 16): every page < 200 ms with 100,000 events.
"""

from __future__ import annotations

import socket
import sqlite3
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from mautic_ctl.dashboard.app import DashboardOptions, create_dashboard_app
from mautic_ctl.store import connect

PAYLOAD = '{"email": "someone@example.com", "kind": "plan_change", "tier": "pro", "user_id": "u"}'


def fill(db: Path, n: int) -> None:
    connect(db).close()  # schema
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("BEGIN")
    now = time.time()
    raw.execute(
        """WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?)
           INSERT INTO events (source, event_id, user_id, kind, payload, occurred_at, status, attempts,
                               next_attempt_at, progress, result, last_error, created_at, updated_at, finished_at)
           SELECT 'bench', 'e-' || n, 'u' || (n % 20000),
                  CASE n % 3 WHEN 0 THEN 'signup' WHEN 1 THEN 'plan_change' ELSE 'sync_contact' END, ?,
                  strftime('%Y-%m-%dT%H:%M:%S+00:00', ? - (? - n) * 2, 'unixepoch'),
                  CASE WHEN n % 97 = 0 THEN 'dead' WHEN n > ? - 500 THEN 'pending' ELSE 'done' END, 1, ?,
                  '{}', '{"contact_id": 1, "transition": "upgrade"}',
                  CASE WHEN n % 97 = 0 THEN 'Mautic refused: segment #42 not found' END,
                  ? - (? - n) * 2, ? - (? - n) * 2,
                  CASE WHEN n > ? - 500 THEN NULL ELSE ? - (? - n) * 2 END FROM c""",
        (n, PAYLOAD, now, n, n, now, now, n, now, n, n, now, n),
    )
    raw.execute(
        """INSERT INTO audit (at, method, path, status, duration_ms, event_pk)
           SELECT created_at, 'PATCH', '/api/contacts/1/edit', 200, 21.5, id FROM events"""
    )
    raw.execute("COMMIT")
    raw.close()


def page_loads(db: Path, *, loads: int = 9) -> dict[str, float]:
    """Median milliseconds per page, fetched over loopback HTTP from a real uvicorn server."""
    app = create_dashboard_app(DashboardOptions(db=db))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY on accepts
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    dead = sqlite3.connect(db).execute("SELECT id FROM events WHERE status = 'dead' LIMIT 1").fetchone()[0]
    pages = {
        "overview": "/",
        "events": "/events",
        "events dead": "/events?status=dead",
        "events by user": "/events?user_id=u7",
        "event": f"/events/{dead}",
        "user story": "/users/u7",
        "deliveries": "/deliveries",
    }
    out: dict[str, float] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for name, path in pages.items():
                client.get(path).raise_for_status()  # warm-up (connection per thread, templates compiled)
                times = []
                for _ in range(loads):
                    t0 = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append((time.perf_counter() - t0) * 1000)
                out[name] = statistics.median(times)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return out


def run(home: Path, n: int) -> dict[str, Any]:
    db = home / "dashboard.db"
    t0 = time.perf_counter()
    fill(db, n)
    filled = time.perf_counter() - t0
    loads = page_loads(db)
    return {"events": n, "fill_s": round(filled, 1), "pages_ms": {k: round(v, 1) for k, v in loads.items()},
            "slowest_ms": round(max(loads.values()), 1)}  # fmt: skip
