"""The installed commands around billing deliveries: simulate's exact bytes (problem 9), ingest with a
signature, webhook show / retry and their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from mautic_ctl.webhooks.signatures import verify_stripe
from tests.helpers import run_installed
from tests.integration.webhooks.conftest import write_config

SECRET = "whsec_cli_billing"
CONFIG = f'[stripe]\nwebhook_secret = "{SECRET}"\n[stripe.tiers]\nprice_pro = "pro"\n'


def run_bytes(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env
    exe = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")
    return subprocess.run([exe, *args], env=full_env, capture_output=True, timeout=60)


def test_problem_9_simulate_output_verifies_and_ingests(env, mautic, tmp_path):
    """`simulate … > body.json` is exactly the signed body: the header verifies it, and
    `ingest stripe body.json --signature HEADER` records it (no trailing newline breaks it)."""
    config = write_config(tmp_path / "c.toml", CONFIG)
    sim = run_bytes(["simulate", "stripe", "customer.subscription.created", "--config", str(config),
                     "--email", "nine@example.com", "--user-id", "u9", "--to", "pro"], env)  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    header = sim.stderr.decode().strip().removeprefix("Stripe-Signature: ")
    verify_stripe(sim.stdout, header, SECRET, now=time.time(), tolerance_s=300)
    body = tmp_path / "body.json"
    body.write_bytes(sim.stdout)
    res = run_installed(["ingest", "stripe", str(body), "--signature", header, "--config", str(config),
                         "--json"], env)  # fmt: skip
    assert res.code == 0, res.stderr
    assert res.json()["recorded"] == 1


def test_webhook_show_and_retry_a_dead_delivery(env, mautic, tmp_path):
    """A delivery dead for an unmapped price: `webhook show` tells why and keeps the body; after the map
    is fixed `webhook retry ID` records it; a missing id or no argument is a usage error (exit 2)."""
    config = write_config(tmp_path / "c.toml", CONFIG)
    sim = run_bytes(["simulate", "stripe", "customer.subscription.created", "--config", str(config),
                     "--email", "dead@example.com", "--user-id", "u_dead", "--to", "pro"], env)  # fmt: skip
    body = tmp_path / "body.json"
    body.write_bytes(sim.stdout.replace(b"price_pro", b"price_team"))
    unmapped = write_config(tmp_path / "u.toml", CONFIG)
    res = run_installed(["ingest", "stripe", str(body), "--config", str(unmapped), "--json"], env)
    assert res.code == 0 and res.json()["dead"] == 1, res.stdout + res.stderr
    show = run_installed(["webhook", "show", "1", "--json", "--config", str(config)], env)
    assert show.code == 0, show.stderr
    row = show.json()
    assert row["outcome"] == "dead" and "price_team" in row["reason"] and row["body"]["type"].endswith(".created")
    fixed = write_config(tmp_path / "f.toml", CONFIG + 'price_team = "pro"\n')
    retry = run_installed(["webhook", "retry", "1", "--json", "--config", str(fixed)], env)
    assert retry.code == 0, retry.stderr
    assert [d["status"] for d in retry.json()["deliveries"]] == ["recorded"]
    again = run_installed(["webhook", "show", row["delivery_id"], "--json", "--config", str(config)], env)
    assert again.json()["outcome"] == "recorded" and again.json()["event_id"] == row["delivery_id"]
    missing = run_installed(["webhook", "show", "999", "--config", str(config)], env)
    assert missing.code == 2 and "no webhook delivery '999'" in missing.stderr
    neither = run_installed(["webhook", "retry", "--config", str(config)], env)
    assert neither.code == 2 and "--all-dead" in neither.stderr


@pytest.mark.parametrize("flag", [[], ["--test-mode"]])
def test_simulate_live_and_test_mode(env, tmp_path, flag):
    """simulate makes a live-mode event unless --test-mode (livemode false everywhere in the payload)."""
    config = write_config(tmp_path / "c.toml", CONFIG)
    sim = run_bytes(["simulate", "stripe", "customer.subscription.created", "--config", str(config),
                     "--email", "m@example.com", "--to", "pro", *flag], env)  # fmt: skip
    payload = json.loads(sim.stdout)
    assert payload["livemode"] is (not flag) and payload["data"]["object"]["livemode"] is (not flag)
