"""`mautic-ctl queue ...`: drain exit codes, dead letters, retry, show, purge, replay."""

from __future__ import annotations

import time
from datetime import datetime

from mautic_ctl.emulator.config import FaultConfig
from tests.helpers import contact_view, make_all_due, run_installed


def record(cli, n=3, tier="free"):
    for i in range(n):
        res = cli(
            "signup", "--user-id", f"u{i}", "--email", f"user{i}@example.com", "--tier", tier, "--no-apply", "--json"
        )
        assert res.code == 0 and res.json()["status"] == "recorded", res.stderr


def test_queue_run_applies_everything_and_exits_0(cli, mautic):
    """A drain of recorded events applies them all in batches; exit 0 and a summary."""
    record(cli, 5)
    mautic.counters.reset()
    res = cli("queue", "run", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["applied"] == 5
    assert mautic.counters.calls("POST", "/api/contacts/batch/new") == 1  # one batch for five contacts
    assert all(contact_view(mautic, f"user{i}@example.com").segments == {"new_users", "free"} for i in range(5))
    assert cli("queue", "stats", "--json").json()["counts"]["done"] == 5


def test_queue_run_exits_75_while_retries_remain_and_1_when_dead(cli, mautic):
    """Transient failure: 75 (scheduled); a permanent failure (unpublished segment, 403): dead, exit 1."""
    record(cli, 1)
    mautic.down_for(None)
    assert cli("queue", "run").code == 75
    mautic.up()
    mautic.state.segments[1].is_published = False
    make_all_due()
    res = cli("queue", "run", "--json")
    assert res.code == 1
    assert res.json()["dead"] == 1
    dead = cli("queue", "list", "--status", "dead", "--json").json()["events"]
    assert len(dead) == 1 and "unpublished" in dead[0]["last_error"]
    shown = cli("queue", "show", str(dead[0]["id"]), "--json").json()
    assert [e["outcome"] for e in shown["errors"]] == ["retry", "dead"]
    assert shown["payload"]["email"] == "user0@example.com"


def test_retry_revives_dead_events_and_they_apply(cli, mautic):
    """`queue retry --all-dead` after fixing Mautic: the event applies, and only what was left is done."""
    record(cli, 1)
    mautic.state.segments[2].is_published = False
    assert cli("queue", "run").code == 1
    view = contact_view(mautic, "user0@example.com")
    assert view.segments == {"new_users"}  # the contact and its first join went through before it died
    mautic.state.segments[2].is_published = True
    res = cli("queue", "retry", "--all-dead", "--json")
    assert res.json()["count"] == 1
    mautic.counters.reset()
    assert cli("queue", "run").code == 0
    assert contact_view(mautic, "user0@example.com").segments == {"new_users", "free"}
    assert contact_view(mautic, "user0@example.com").entries == {"welcome": 1}
    assert mautic.counters.calls("POST", "/api/contacts/batch/new") == 0  # not created twice
    assert mautic.counters.calls("POST", "/api/segments/{id}/contacts/add") == 1  # only Free is left


def test_retry_by_id_and_bad_arguments(cli, mautic):
    """`queue retry ID` revives that event; no id and no --all-dead is exit 2."""
    assert cli("queue", "retry").code == 2
    res = cli("queue", "retry", "12345", "--json")
    assert res.code == 0 and res.json()["left"] == [12345]


def test_purge_keeps_recent_and_dead(cli, mautic):
    """`queue purge --done-older-than 0s` removes done events; a bad duration is exit 2."""
    record(cli, 2)
    cli("queue", "run")
    assert cli("queue", "purge", "--done-older-than", "1h", "--json").json()["purged"] == 0
    assert cli("queue", "purge", "--done-older-than", "0s", "--json").json()["purged"] == 2
    assert cli("queue", "purge", "--done-older-than", "soon").code == 2


def test_replay_reapplies_without_entering_campaigns_twice(cli, mautic):
    """After Mautic lost memberships, `queue replay` restores them; campaigns already entered are not re-entered."""
    record(cli, 1, tier="pro")
    assert cli("queue", "run").code == 0
    cid = contact_view(mautic, "user0@example.com").contact_id
    mautic.state.segment_remove(3, cid)  # someone removed the contact from Pro by hand
    res = cli("queue", "replay", "--since", "1d", "--json")
    assert res.json()["count"] == 1
    assert cli("queue", "run").code == 0
    view = contact_view(mautic, "user0@example.com")
    assert view.segments == {"new_users", "pro"}
    assert view.entries == {"welcome": 1, "onboarding_pro": 1}


def test_flaky_mautic_converges(cli, mautic):
    """Failed API calls are queued and retried: with 40% 503s, repeated drains reach the exact state."""
    record(cli, 20, tier="pro")
    mautic.faults = FaultConfig(fail_rate=0.4, fail_statuses=(503,), seed=7)
    for _ in range(40):
        make_all_due()
        if cli("queue", "run").code == 0:
            break
    mautic.faults = FaultConfig()
    assert cli("queue", "stats", "--json").json()["counts"]["done"] == 20
    for i in range(20):
        view = contact_view(mautic, f"user{i}@example.com")
        assert view.segments == {"new_users", "pro"}
        assert view.entries == {"welcome": 1, "onboarding_pro": 1}


def test_installed_queue_commands(env, mautic):
    """The installed `queue run`, `queue list`, `queue stats` work as subprocesses."""
    assert run_installed(["signup", "--user-id", "u1", "--email", "a@example.com", "--no-apply"], env).code == 0
    assert run_installed(["queue", "stats"], env).code == 0
    listed = run_installed(["queue", "list", "--json"], env)
    assert listed.json()["count"] == 1
    res = run_installed(["queue", "run"], env)
    assert res.code == 0, res.stderr
    assert "applied" in res.stdout


def test_rate_limited_drain_stops_claiming_and_defers(cli, mautic, tmp_path):
    """A 429 defers the event until X-RateLimit-Reset (not an attempt) and the run stops claiming more."""
    config = tmp_path / "c.toml"
    config.write_text("[queue]\nbatch_size = 1\n")
    config.chmod(0o600)
    record(cli, 4)
    mautic.faults = FaultConfig(rate_limit=3)
    res = cli("queue", "run", "--config", str(config), "--json")
    assert res.code == 75
    assert res.json()["deferred"] == 1 and res.json()["applied"] == 0
    events = cli("queue", "list", "--json").json()["events"]
    assert sorted(e["attempts"] for e in events) == [0, 0, 0, 0]  # a deferral is not an attempt
    deferred = [e for e in events if e["last_error"]]
    assert len(deferred) == 1 and "rate limit" in deferred[0]["last_error"]
    next_at = datetime.fromisoformat(deferred[0]["next_attempt_at"]).timestamp()  # JSON times: ISO 8601 UTC
    assert next_at > time.time() + 600  # the hourly window's reset, not a short backoff
