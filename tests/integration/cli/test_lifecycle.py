"""login, email-change, unsubscribe / resubscribe, delete-user, track: end to end against the emulator."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mautic_ctl.emulator.config import FaultConfig
from mautic_ctl.emulator.model import Campaign, Segment, utcnow
from mautic_ctl.emulator.seed import ADMIN
from tests.helpers import make_all_due, run_installed

POWER_SEGMENT, POWER_CAMPAIGN = 11, 11

TRACK_CONFIG = """
[lifecycle]
on_delete = "{on_delete}"
on_email_conflict = "{on_conflict}"

[[track]]
event = "report_created"
count = 3
add_tags = ["power-user"]
add_points = 10
join_segments = ["Power Users"]
enter_campaign = "Power Nurture"

[[track]]
event = "feature_used"
where = {{ feature = "export" }}
add_points = 2
remove_tags = ["trial"]
"""


@pytest.fixture
def power(mautic):
    """A segment and a campaign a [[track]] mapping names (by name, resolved through the API)."""
    with mautic.state.lock:
        now = utcnow()
        mautic.state.segments[POWER_SEGMENT] = Segment(
            POWER_SEGMENT, "Power Users", "power-users", "Power Users", date_added=now, created_by=ADMIN
        )
        mautic.state.campaigns[POWER_CAMPAIGN] = Campaign(POWER_CAMPAIGN, "Power Nurture", date_added=now)
    return mautic


def write_config(tmp_path: Path, *, on_delete: str = "delete", on_conflict: str = "dead") -> str:
    path = tmp_path / "config.toml"
    path.write_text(TRACK_CONFIG.format(on_delete=on_delete, on_conflict=on_conflict))
    path.chmod(0o600)
    return str(path)


def contact(mautic, email: str):
    return mautic.state.contact_by_email(email)


def tags_of(mautic, email: str) -> set[str]:
    names = {tid: name for name, tid in mautic.state.tags.items()}
    return {names[t] for t in contact(mautic, email).tag_ids}


# --- login ----------------------------------------------------------------------------------------


def test_login_sets_last_login(cli, mautic):
    assert cli("signup", "--user-id", "u1", "--email", "ann@example.com").code == 0
    res = cli("login", "--user-id", "u1", "--occurred-at", "2026-11-26T09:30:15+01:00", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["status"] == "applied" and res.json()["transition"] == "login"
    # Mautic 5.1 stores datetimes without seconds (fact sheet §5.4); what we sent was 08:30:15 UTC.
    assert mautic.state.field_value("ann@example.com", "last_login") in ("2026-11-26 08:30:15", "2026-11-26 08:30:00")


def test_logins_of_one_user_queued_together_cost_one_update(cli, mautic):
    """Ten queued logins of a user: one batch edit with the newest time; every login settles done."""
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    for minute in (5, 9, 1, 7, 3, 8, 2, 6, 4, 0):  # arrival order is not time order
        assert cli("login", "--user-id", "u1", "--no-apply", "--occurred-at", f"2026-11-26T10:0{minute}:00Z").code == 0
    mautic.counters.reset()
    res = cli("queue", "run", "--json")
    assert res.code == 0, res.stderr
    calls = {route: n for route, n in mautic.counters.by_route.items() if route[1].startswith("/api")}
    assert calls == {("PATCH", "/api/contacts/batch/edit"): 1}
    assert mautic.state.field_value("ann@example.com", "last_login") == "2026-11-26 10:09:00"
    assert cli("queue", "stats", "--json").json()["counts"]["done"] == 11


def test_an_older_login_never_overwrites_a_newer_one(cli, mautic):
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cli("login", "--user-id", "u1", "--occurred-at", "2026-11-26T10:00:00Z")
    res = cli("login", "--user-id", "u1", "--occurred-at", "2026-11-26T09:00:00Z", "--json")
    assert res.json()["status"] == "superseded"
    assert mautic.state.field_value("ann@example.com", "last_login") == "2026-11-26 10:00:00"


# --- email change ---------------------------------------------------------------------------------


def test_email_change_moves_the_address_on_the_same_contact(cli, mautic):
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    before = contact(mautic, "ann@example.com").id
    res = cli("email-change", "--user-id", "u1", "--email", "ann.new@example.com", "--json")
    assert res.code == 0, res.stderr
    assert contact(mautic, "ann.new@example.com").id == before
    assert contact(mautic, "ann@example.com") is None
    assert len(mautic.state.contacts) == 1  # never a second contact
    # later events find the contact by the new address (the mirror moved with it)
    assert cli("plan-change", "--user-id", "u1", "--to", "pro").code == 0
    assert mautic.state.field_value("ann.new@example.com", "subscription_tier") == "pro"


def test_email_change_to_another_contacts_address_is_dead_with_both_ids(cli, mautic):
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cli("signup", "--user-id", "u2", "--email", "bob@example.com")
    ann, bob = contact(mautic, "ann@example.com").id, contact(mautic, "bob@example.com").id
    res = cli("email-change", "--user-id", "u1", "--email", "bob@example.com", "--json")
    assert res.code == 1
    error = res.json()["error"]
    assert f"Mautic contact {bob}" in error and f"contact {ann}" in error
    assert contact(mautic, "ann@example.com").id == ann  # nothing changed in Mautic
    assert cli("queue", "list", "--status", "dead", "--json").json()


def test_email_conflict_configured_to_skip_keeps_the_old_address(cli, power, tmp_path):
    mautic = power
    config = write_config(tmp_path, on_conflict="skip")
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cli("signup", "--user-id", "u2", "--email", "bob@example.com")
    bob = contact(mautic, "bob@example.com").id
    res = cli("--config", config, "email-change", "--user-id", "u1", "--email", "bob@example.com", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["status"] == "applied"
    shown = cli("queue", "show", str(res.json()["queue_id"]), "--json").json()
    assert shown["result"]["email_conflict_with"] == bob
    assert cli("sync-contact", "--user-id", "u1", "--set", "subscription_status=trial").code == 0
    assert mautic.state.field_value("ann@example.com", "subscription_status") == "trial"


# --- consent --------------------------------------------------------------------------------------


def test_unsubscribe_then_resubscribe(cli, mautic):
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    res = cli("unsubscribe", "--user-id", "u1", "--comment", "settings page", "--json")
    assert res.code == 0, res.stderr
    dnc = contact(mautic, "ann@example.com").dnc["email"]
    assert (dnc.reason, dnc.comments) == (1, "settings page")
    assert cli("resubscribe", "--user-id", "u1").code == 0
    assert "email" not in contact(mautic, "ann@example.com").dnc


def test_the_contacts_own_unsubscribe_survives_plan_changes(cli, mautic):
    """A DNC the contact set in Mautic (an unsubscribe link) is not removed by later lifecycle events."""
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    c = contact(mautic, "ann@example.com")
    with mautic.state.lock:
        mautic.state.add_dnc(c, "email", 1, "User unsubscribed.", None)
    for args in (("--to", "pro"), ("--to", "free"), ("--to", "cancelled"), ("--to", "enterprise")):
        assert cli("plan-change", "--user-id", "u1", *args).code == 0
    assert cli("login", "--user-id", "u1").code == 0
    assert contact(mautic, "ann@example.com").dnc["email"].comments == "User unsubscribed."


def test_consent_first_an_unsubscribe_is_not_held_behind_a_failing_plan_change(cli, mautic):
    """A plan change waiting out a backoff (Mautic refused it) does not delay the unsubscribe behind it."""
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    assert cli("plan-change", "--user-id", "u1", "--to", "pro", "--no-apply").code == 0
    # the plan change keeps failing (its contact update is refused), so it waits out a backoff
    mautic.faults = FaultConfig(fail_rate=1.0, fail_statuses=(503,), paths=("/api/contacts/batch/edit",))
    cli("queue", "run")
    assert cli("unsubscribe", "--user-id", "u1", "--json").json()["status"] == "applied"
    assert contact(mautic, "ann@example.com").dnc["email"].reason == 1
    counts = cli("queue", "stats", "--json").json()["counts"]
    assert counts["pending"] == 1  # the plan change still waits for its retry


# --- delete-user ----------------------------------------------------------------------------------


def _file_bytes(db: Path) -> bytes:
    wal = Path(f"{db}-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_delete_user_deletes_the_contact_and_erases_the_user_from_the_store(cli, mautic, db_path):
    """Nothing of the user's email or names is left in the SQLite file or its WAL; the proof stays."""
    email, first, last = "zelda.quux@example.com", "Zeldaqx", "Quuxington"
    assert cli("signup", "--user-id", "u-del", "--email", email, "--first-name", first, "--last-name", last).code == 0
    cli("plan-change", "--user-id", "u-del", "--to", "pro")
    cli("sync-contact", "--user-id", "u-del", "--set", "subscription_status=trial")
    cli("login", "--user-id", "u-del")
    cli("track", "--user-id", "u-del", "--event", "page_viewed", "--prop", f"by={first}")
    cli("signup", "--user-id", "u-keep", "--email", "keep@example.com", "--first-name", "Keeper")
    assert email.encode() in _file_bytes(db_path)

    res = cli("delete-user", "--user-id", "u-del", "--json")
    assert res.code == 0, res.stderr
    assert contact(mautic, email) is None and contact(mautic, "keep@example.com") is not None

    data = _file_bytes(db_path)
    for secret in (email, first, last, "u-del"):
        assert secret.encode() not in data, secret
        assert secret.encode("utf-16-le") not in data, secret
    conn = sqlite3.connect(db_path)
    (proof,) = conn.execute("SELECT user_hash, outcome, events FROM erasures").fetchall()
    assert proof[1] == "deleted" and proof[2] == 6 and len(proof[0]) == 64
    assert b"keep@example.com" in data  # only that user
    # later events are refused with a clear reason, unless it signs up again
    res = cli("plan-change", "--user-id", "u-del", "--to", "pro")
    assert res.code == 2 and "was deleted on" in res.stderr and "new signup" in res.stderr
    assert cli("signup", "--user-id", "u-del", "--email", "zelda.new@example.com").code == 0
    assert cli("plan-change", "--user-id", "u-del", "--to", "pro").code == 0


def test_delete_user_with_anonymise_keeps_a_blank_contact(cli, power, tmp_path):
    mautic = power
    config = write_config(tmp_path, on_delete="anonymise")
    cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--first-name", "Ann", "--last-name", "Lee")
    cid = contact(mautic, "ann@example.com").id
    res = cli("--config", config, "delete-user", "--user-id", "u1", "--json")
    assert res.code == 0, res.stderr
    kept = mautic.state.contacts[cid]
    assert (kept.get("email"), kept.get("firstname"), kept.get("lastname")) == (None, None, None)
    assert kept.get("subscription_tier") == "free"  # not personal: kept for Mautic's own reports


def test_delete_user_queued_events_before_it_are_not_applied_after(cli, mautic):
    """Events recorded before the deletion and still queued die with the reason; nothing re-creates it."""
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cli("delete-user", "--user-id", "u1", "--no-apply")
    cli("plan-change", "--user-id", "u1", "--to", "pro", "--no-apply")
    assert cli("queue", "run").code == 1  # the plan change went dead
    assert contact(mautic, "ann@example.com") is None
    (dead,) = cli("queue", "list", "--status", "dead", "--json").json()["events"]
    assert "the user was deleted" in dead["last_error"]


# --- track ----------------------------------------------------------------------------------------


def test_track_milestone_fires_on_the_third_report(cli, power, tmp_path):
    config = write_config(tmp_path)
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    for _ in range(2):
        assert cli("--config", config, "track", "--user-id", "u1", "--event", "report_created").code == 0
    assert tags_of(power, "ann@example.com") == set()
    power.counters.reset()
    res = cli("--config", config, "track", "--user-id", "u1", "--event", "report_created", "--json")
    assert res.code == 0, res.stderr
    c = contact(power, "ann@example.com")
    assert tags_of(power, "ann@example.com") == {"power-user"}
    assert c.points == 10
    assert POWER_SEGMENT in power.state.segment_ids_of(c.id)
    assert POWER_CAMPAIGN in power.state.campaign_ids_of(c.id)
    for _ in range(3):  # further reports: the milestone does not fire again
        cli("--config", config, "track", "--user-id", "u1", "--event", "report_created")
    assert contact(power, "ann@example.com").points == 10
    assert len(power.state.entries(POWER_CAMPAIGN, c.id)) == 1


def test_track_with_a_property_condition_and_unmapped_events(cli, power, tmp_path):
    config = write_config(tmp_path)
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    track = ("--config", config, "track", "--user-id", "u1", "--event")
    assert cli(*track, "feature_used", "--prop", "feature=csv").code == 0  # the condition does not hold
    power.counters.reset()  # (the first drain with this config resolved the mapping's names once)
    assert cli(*track, "signed_in_twice").code == 0  # no mapping at all
    assert cli(*track, "feature_used", "--prop", "feature=csv").code == 0
    assert not [r for r in power.counters.by_route if r[1].startswith("/api")]  # recorded and counted, no call
    res = cli(*track, "feature_used", "--prop", "feature=export", "--json")
    assert res.code == 0, res.stderr
    assert contact(power, "ann@example.com").points == 2
    assert res.json()["transition"] == "track"


def test_points_lost_in_flight_are_never_added_twice(cli, power, tmp_path, monkeypatch):
    """Points have no idempotent form: a call whose answer was lost is not repeated on the retry."""
    config = write_config(tmp_path)
    monkeypatch.setenv("MAUTIC_CTL_MAUTIC__TIMEOUT", "1")
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cid = contact(power, "ann@example.com").id
    power.faults = FaultConfig(lost_response_rate=1.0, hang_seconds=2, paths=(f"/api/contacts/{cid}/points",))
    track = ("--config", config, "track", "--user-id", "u1", "--event", "feature_used", "--prop", "feature=export")
    assert cli(*track).code == 75  # applied in Mautic, but no answer came back
    assert contact(power, "ann@example.com").points == 2
    power.faults = FaultConfig()
    make_all_due()
    res = cli("--config", config, "queue", "run", "--json")
    assert res.code == 0, res.stderr
    assert contact(power, "ann@example.com").points == 2  # not 4
    (tracked,) = [e for e in cli("queue", "list", "--json").json()["events"] if e["kind"] == "track"]
    shown = cli("queue", "show", str(tracked["id"]), "--json").json()
    assert shown["status"] == "done" and shown["result"]["points_uncertain"] is True


def test_bad_track_config_is_one_line_exit_2(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[track]]\nevent = "e"\nadd_points = "lots"\n')
    path.chmod(0o600)
    cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--no-apply")
    res = cli("--config", str(path), "queue", "run")
    assert res.code == 2
    assert (
        res.stderr.strip() == "error: [[track]] #1 (e): add_points must be a whole number (negative takes points away)."
    )


def test_installed_commands_for_the_lifecycle(env, power, tmp_path):
    """Each new command as the installed `mautic-ctl` subprocess: exit codes and streams."""
    env = {**env, "MAUTIC_CTL_CONFIG": write_config(tmp_path)}
    assert run_installed(["signup", "--user-id", "u1", "--email", "ann@example.com"], env).code == 0
    for args in (
        ["login", "--user-id", "u1"],
        ["track", "--user-id", "u1", "--event", "feature_used", "--prop", "feature=export"],
        ["unsubscribe", "--user-id", "u1"],
        ["resubscribe", "--user-id", "u1"],
        ["email-change", "--user-id", "u1", "--email", "ann2@example.com"],
        ["delete-user", "--user-id", "u1"],
    ):
        res = run_installed([*args, "--json"], env)
        assert res.code == 0, (args, res.stderr)
        assert res.json()["status"] == "applied", args
    res = run_installed(["login", "--user-id", "u1"], env)
    assert res.code == 2 and res.stdout == "" and len(res.stderr.strip().splitlines()) == 1
    assert power.state.contact_by_email("ann2@example.com") is None


# --- the same kinds as ingest records and POST /events bodies --------------------------------------


def test_every_new_kind_as_an_ingest_record_and_a_post_events_body(cli, power, tmp_path, monkeypatch):
    """`ingest` JSONL and `POST /events` take the new types with the flags' keys; `queue run` applies them."""
    from starlette.testclient import TestClient

    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.services.serve import build_app
    from mautic_ctl.settings import load_settings

    config = write_config(tmp_path)
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    cli("signup", "--user-id", "u2", "--email", "bob@example.com")
    records = [
        {"type": "login", "user_id": "u1", "occurred_at": "2026-11-26T10:00:00Z"},
        {"type": "track", "user_id": "u1", "event": "feature_used", "properties": {"feature": "export"}},
        {"type": "unsubscribe", "user_id": "u1", "comment": "from the file"},
        {"type": "email-change", "user_id": "u1", "email": "ann.b@example.com"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    res = cli("--config", config, "ingest", str(path), "--json")
    assert res.code == 0, res.stderr
    assert res.json()["recorded"] == 4

    monkeypatch.setenv("MAUTIC_CTL_EVENTS_TOKEN", "tok")
    rt = Runtime(load_settings(Path(config)))
    app, recorder, _ = build_app(rt)
    body = [
        {"type": "login", "user_id": "u2", "event_id": "h1"},
        {"type": "track", "user_id": "u2", "event": "report_created", "event_id": "h2"},
        {"type": "resubscribe", "user_id": "u2", "event_id": "h3"},
        {"type": "delete_user", "user_id": "u2", "event_id": "h4"},
    ]
    with TestClient(app) as http:
        answer = http.post("/events", json=body, headers={"Authorization": "Bearer tok"})
    recorder.close()
    rt.close()
    assert answer.status_code == 200 and answer.json()["recorded"] == 4, answer.text

    assert cli("--config", config, "queue", "run").code == 0
    ann = contact(power, "ann.b@example.com")
    assert ann.get("last_login") == "2026-11-26 10:00:00" and ann.points == 2
    assert ann.dnc["email"].comments == "from the file"
    assert contact(power, "bob@example.com") is None  # deleted
    assert mautic_counts(cli) == {"done": 10}


def mautic_counts(cli) -> dict[str, int]:
    return {k: v for k, v in cli("queue", "stats", "--json").json()["counts"].items() if v}
