"""`mautic-ctl ingest`: bursts of product events recorded cheaply, validated all-or-nothing."""

from __future__ import annotations

import json

from tests.helpers import contact_view, run_installed


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def test_ingest_jsonl_from_stdin_then_apply(env, mautic):
    """JSONL on stdin is recorded (no network), re-feeding it records nothing new, `--apply` drains."""
    data = jsonl(
        {"type": "signup", "user_id": "u1", "email": "a@example.com", "tier": "free"},
        {"type": "plan_change", "user_id": "u1", "to": "pro"},
        {"type": "signup", "user_id": "u2", "email": "b@example.com"},
    )
    first = run_installed(["ingest", "-", "--json"], env, stdin=data)
    assert first.code == 0, first.stderr
    assert first.json()["recorded"] == 3 and mautic.counters.total == 0
    again = run_installed(["ingest", "-", "--json"], env, stdin=data)
    assert again.json() | {"queue_ids": []} == {"recorded": 0, "duplicate": 3, "queue_ids": []}
    res = run_installed(["ingest", "-", "--apply", "--json"], env, stdin=data)
    assert res.code == 0, res.stderr
    assert res.json()["drain"]["applied"] == 3
    assert contact_view(mautic, "a@example.com").segments == {"new_users", "pro"}


def test_one_bad_record_records_nothing(env, mautic, tmp_path):
    """A bad record (unknown tier on line 2): exit 2, the line named, nothing recorded."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(jsonl(
        {"type": "signup", "user_id": "u1", "email": "a@example.com"},
        {"type": "plan_change", "user_id": "u1", "to": "platinum"},
    ))  # fmt: skip
    res = run_installed(["ingest", str(path)], env)
    assert res.code == 2
    assert res.stderr.startswith("error: record 2: unknown tier 'platinum'")
    assert run_installed(["queue", "stats", "--json"], env).json()["counts"]["pending"] == 0
