"""`mautic-ctl signup` end to end over real HTTP against the emulator."""

from __future__ import annotations

from tests.helpers import contact_view, run_installed


def test_signup_creates_contact_fields_segments_and_welcome(cli, mautic):
    """Signup: contact with fields, New Users + Free segments, Welcome campaign; JSON says applied."""
    res = cli(
        "signup",
        "--user-id",
        "u1",
        "--email",
        "ann@example.com",
        "--first-name",
        "Ann",
        "--json",
        "--occurred-at",
        "2026-11-20T10:00:00Z",
    )
    assert res.code == 0, res.stderr
    payload = res.json()
    assert payload["status"] == "applied" and payload["transition"] == "signup"
    view = contact_view(mautic, "ann@example.com")
    assert payload["contact_id"] == view.contact_id
    assert view.segments == {"new_users", "free"}
    assert view.campaigns == {"welcome"}
    assert view.fields["subscription_tier"] == "free"
    assert view.fields["subscription_status"] == "active"
    assert view.fields["signup_date"] == "2026-11-20"
    assert view.fields["firstname"] == "Ann"


def test_duplicate_event_id_changes_nothing(cli, mautic):
    """The same --event-id twice: the second is acknowledged with the first outcome and makes no call."""
    first = cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--event-id", "evt-1", "--json")
    calls = mautic.counters.total
    second = cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--event-id", "evt-1", "--json")
    assert first.code == second.code == 0
    assert second.json()["duplicate"] is True
    assert second.json()["status"] == "applied"
    assert second.json()["contact_id"] == first.json()["contact_id"]
    assert mautic.counters.total == calls
    assert contact_view(mautic, "ann@example.com").entries == {"welcome": 1}


def test_signup_when_mautic_is_down_queues_then_queue_run_applies(cli, mautic):
    """Mautic unreachable: signup exits 75 with the event pending; once back, `queue run` applies it, exit 0."""
    mautic.down_for(None)
    res = cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--json")
    assert res.code == 75, res.stderr
    assert res.json()["status"] == "queued"
    assert "queue run" in res.stderr
    listed = cli("queue", "list", "--status", "pending", "--json").json()
    assert [e["user_id"] for e in listed["events"]] == ["u1"]
    assert contact_view(mautic, "ann@example.com") is None
    mautic.up()
    run = cli("queue", "run", "--json")  # the attempt after recording was a courtesy: the event is still due
    assert run.code == 0, run.stderr
    assert run.json()["applied"] == 1
    assert contact_view(mautic, "ann@example.com").segments == {"new_users", "free"}


def test_invalid_input_exits_2_and_records_nothing(cli, mautic):
    """Invalid email / unknown tier: exit 2, one clear line on stderr, queue unchanged."""
    cli("signup", "--user-id", "u0", "--email", "ok@example.com", "--no-apply")
    for args in (["--email", "not-an-email"], ["--email", "a@example.com", "--tier", "platinum"]):
        res = cli("signup", "--user-id", "u1", *args)
        assert res.code == 2
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert "Traceback" not in res.stderr
    stats = cli("queue", "stats", "--json").json()
    assert sum(stats["counts"].values()) == 1


def test_installed_command_signup(env, mautic):
    """The installed `mautic-ctl signup` works as a subprocess."""
    res = run_installed(["signup", "--user-id", "u9", "--email", "zed@example.com", "--tier", "pro", "--json"], env)
    assert res.code == 0, res.stderr
    view = contact_view(mautic, "zed@example.com")
    assert view.segments == {"new_users", "pro"}
    assert view.campaigns == {"welcome", "onboarding_pro"}
