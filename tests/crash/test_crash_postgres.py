"""Many hosts on one PostgreSQL store, for real: 2 `webhook serve` receivers and 4 `queue work` workers
(standing in for 2 hosts x 2 workers) as processes, SIGKILLed at random moments while signed deliveries
pour in. Nothing lost, no event held by two workers at once, no campaign entered twice, and Mautic ends
exactly as after a clean single-worker run of the same events."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mautic_ctl.emulator.config import FaultConfig
from mautic_ctl.events import Event
from mautic_ctl.store import db
from mautic_ctl.webhooks.signatures import sign_stripe
from mautic_ctl.webhooks.simulate import simulate
from tests.helpers import mautic_env, snapshot
from tests.integration.webhooks.test_webhook_serve_cli import free_port
from tests.workload import (
    EXE,
    campaign_entries,
    enqueue,
    lifecycle_events,
    reference_snapshot,
    status_counts,
    subprocess_env,
    write_config,
)

# The scale; every part is bounded by a deadline (the test takes ~40-60 s on 2 cores).
LIFECYCLE_EVENTS, LIFECYCLE_USERS = 800, 200
DELIVERIES = 200  # signed Stripe deliveries, each POSTed to both receivers at once
WORKERS = 4
MIN_KILLS = 12
SECRET = "whsec_many_hosts"
TIERS = {"price_free": "free", "price_pro": "pro", "price_ent": "enterprise"}

# Every claim is logged by a trigger: the event's state before the claim, and its lease then.
CLAIM_LOG = (
    """CREATE TABLE claim_log (event_pk BIGINT, old_status TEXT, old_owner TEXT, old_lease DOUBLE PRECISION,
                               new_owner TEXT, at DOUBLE PRECISION)""",
    """CREATE FUNCTION log_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         INSERT INTO claim_log VALUES (OLD.id, OLD.status, OLD.lease_owner, OLD.lease_until, NEW.lease_owner,
                                       NEW.updated_at);
         RETURN NULL; END $$""",
    """CREATE TRIGGER claim_log AFTER UPDATE OF status ON events FOR EACH ROW
       WHEN (NEW.status = 'processing') EXECUTE FUNCTION log_claim()""",
)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([EXE, *args], env=subprocess_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "webhook serve did not start"
        time.sleep(0.1)


def deliveries(n: int) -> list:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    out = []
    for i in range(n):
        d = simulate("stripe", "customer.subscription.created", email=f"stripe{i}@example.com", from_tier=None,
                     to_tier=("pro", "enterprise")[i % 2], secret=None, tiers=TIERS, now=at, user_id=f"stripe{i}")  # fmt: skip
        d.headers["Stripe-Signature"] = sign_stripe(d.body, SECRET, int(time.time()))
        out.append(d)
    return out


async def post_to_both(urls: list[str], batch: list) -> list[str]:
    """Each delivery to every receiver at once (a provider retrying through a load balancer): statuses."""
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        sem = asyncio.Semaphore(40)

        async def one(url: str, d) -> str:
            async with sem:
                res = await client.post(f"{url}/webhooks/stripe", content=d.body, headers=d.headers)
                assert res.status_code == 200, res.text
                return res.json()["status"]

        return await asyncio.gather(*(one(u, d) for d in batch for u in urls))


@pytest.mark.timeout(240)
def test_receivers_and_workers_on_many_hosts_lose_nothing_under_sigkill(mautic, pg_url, tmp_path, monkeypatch):
    config = write_config(
        tmp_path / "hosts.toml",
        queue={"lease": 1.0, "max_attempts": 1000, "batch_size": 25},
        stripe={"webhook_secret": SECRET},
    )
    with config.open("a") as f:
        f.write("[stripe.tiers]\n" + "".join(f'{k} = "{v}"\n' for k, v in TIERS.items()))
    env = mautic_env(mautic.url, pg_url, MAUTIC_CTL_CONFIG=str(config))
    for key, value in env.items():  # the in-process reference run reads them too
        monkeypatch.setenv(key, value)
    conn = db.connect(pg_url)
    for ddl in CLAIM_LOG:
        conn.raw.execute(ddl)
    conn.close()

    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    receivers = [start(["webhook", "serve", "--port", str(p)], env) for p in ports]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for url, proc in zip(urls, receivers, strict=True):
            wait_healthy(url, proc)
        enqueue(pg_url, lifecycle_events(n_users=LIFECYCLE_USERS, n_events=LIFECYCLE_EVENTS, seed=13))
        mautic.faults = FaultConfig(latency_ms=5, jitter_ms=15, seed=5)
        workers = [start(["queue", "work", "--json", "--max-idle", "1"], env) for _ in range(WORKERS)]

        # Deliveries arrive while the workers drain and die: in four waves, between kills.
        rng = random.Random(20261127)
        waves = deliveries(DELIVERIES)
        statuses: list[str] = []
        kills, deadline = 0, time.monotonic() + 90
        while time.monotonic() < deadline:
            if waves:
                batch, waves = waves[: DELIVERIES // 4], waves[DELIVERIES // 4 :]
                statuses += asyncio.run(post_to_both(urls, batch))
            counts = status_counts(pg_url)
            if kills >= MIN_KILLS and not waves:
                break
            if counts.get("pending", 0) + counts.get("processing", 0) == 0 and not waves:
                break
            time.sleep(rng.uniform(0.05, 0.6))  # any moment: a claim, a call in flight, a settle, idle
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].communicate(timeout=10)
            kills += 1
            workers[victim] = start(["queue", "work", "--json", "--max-idle", "1"], env)
        assert kills >= MIN_KILLS, f"only {kills} kills"

        done_by = time.monotonic() + 90  # the survivors finish (waiting out the killed workers' leases)
        total = LIFECYCLE_EVENTS + DELIVERIES
        while status_counts(pg_url) != {"done": total}:
            assert time.monotonic() < done_by, status_counts(pg_url)
            time.sleep(0.2)
    finally:
        for proc in workers + receivers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        outcomes = [(proc.wait(30), proc.stderr.read().decode()) for proc in workers + receivers]
    for i, (code, err) in enumerate(outcomes):
        # Workers exit 0; uvicorn shuts a receiver down gracefully, then re-raises SIGTERM (-15).
        assert code == 0 or (i >= len(workers) and code == -signal.SIGTERM), err
        assert "Traceback" not in err, err
    assert sorted(set(statuses)) == ["duplicate", "recorded"]
    assert statuses.count("recorded") == DELIVERIES == statuses.count("duplicate")  # dedupe across receivers

    conn = db.connect(pg_url)
    try:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == DELIVERIES
        claims = conn.execute("SELECT event_pk, old_status, old_lease, at FROM claim_log").fetchall()
        # A claim takes a pending event, or one whose holder's lease had expired: never one still held.
        held = [c for c in claims if not (c[1] == "pending" or (c[1] == "processing" and c[2] <= c[3]))]
        assert held == []
        reclaimed = sum(1 for c in claims if c[1] == "processing")
        rows = conn.execute("SELECT payload FROM events ORDER BY id").fetchall()
    finally:
        conn.close()
    assert reclaimed > 0  # the kills really stranded leased events
    assert set(campaign_entries(mautic).values()) == {1}  # no contact entered a campaign twice
    final = snapshot(mautic)
    assert len(final) == LIFECYCLE_USERS + DELIVERIES  # no duplicate contact

    mautic.faults = FaultConfig()
    events = [Event.from_dict(json.loads(r[0])) for r in rows]
    reference = reference_snapshot(mautic, events, tmp_path / "reference.db", config)
    assert final == reference
