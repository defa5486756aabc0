"""[[experiments]] end to end: arms entered in the emulated Mautic, the arm written to a field, stored once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mautic_ctl.emulator.seed import ADMIN, SEED_CAMPAIGNS
from mautic_ctl.emulator.server import EmulatorHandle
from mautic_ctl.emulator.state import Campaign, CampaignEvent, Field, utcnow
from mautic_ctl.experiments import Arm, Experiment
from tests.helpers import contact_view, run_installed

ARMS = (Arm("A", SEED_CAMPAIGNS["welcome"], 45), Arm("B", "Welcome B", 45), Arm("holdout", None, 10))
EXPERIMENT = Experiment("welcome-test", "welcome", ARMS, "exp_welcome")
CONFIG = """
[[experiments]]
name = "welcome-test"
slot = "welcome"
field = "exp_welcome"
arms = [
  { name = "A", campaign = 1, weight = 45 },
  { name = "B", campaign = "Welcome B", weight = 45 },
  { name = "holdout", campaign = "none", weight = 10 },
]
"""


def add_campaign(mautic: EmulatorHandle, name: str) -> int:
    """A published campaign as a marketer would have built it in Mautic's UI."""
    state = mautic.state
    with state.lock:
        cid = state.next_id("campaign")
        event = CampaignEvent(state.next_id("event"), "Send welcome B", "lead.changepoints", "action", 0, {"points": 1})
        state.campaigns[cid] = Campaign(
            cid, name, events=[event], segment_ids=[1], date_added=utcnow(), created_by=ADMIN
        )
    return cid


def add_text_field(mautic: EmulatorHandle, alias: str) -> None:
    state = mautic.state
    with state.lock:
        state.add_field(Field(state.next_field_id(), alias, alias, "text", order=40, date_added=utcnow()))


def write_config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def user_in(arm: str, start: int = 0) -> str:
    return next(f"user-{i}" for i in range(start, 10_000) if EXPERIMENT.assign(f"user-{i}") == arm)


def assignments(db: str) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT user_id, arm FROM experiment_assignments WHERE experiment = 'welcome-test'"))
    finally:
        conn.close()


def test_each_arm_enters_its_campaign_holdout_enters_none(cli, mautic, env, tmp_path):
    """Three signups, one per arm: A enters Welcome, B enters "Welcome B", the holdout nothing; each contact's
    exp_welcome field names its arm; the arm is stored and reported with the event's outcome."""
    b_id = add_campaign(mautic, "Welcome B")
    add_text_field(mautic, "exp_welcome")
    config = write_config(tmp_path)
    users = {arm: user_in(arm) for arm in ("A", "B", "holdout")}
    for user in users.values():
        res = cli("--config", str(config), "signup", "--user-id", user, "--email", f"{user}@example.com", "--json")
        assert res.code == 0, res.stderr
    a, b, h = (contact_view(mautic, f"{users[x]}@example.com") for x in ("A", "B", "holdout"))
    assert (
        a.campaigns == {"welcome"}
        and a.fields
        and mautic.state.field_value(f"{users['A']}@example.com", "exp_welcome") == "A"
    )
    assert b.campaigns == {str(b_id)} and mautic.state.field_value(f"{users['B']}@example.com", "exp_welcome") == "B"
    assert h.campaigns == frozenset() and h.entries == {}
    assert mautic.state.field_value(f"{users['holdout']}@example.com", "exp_welcome") == "holdout"
    assert assignments(env["MAUTIC_CTL_DB"]) == {user: arm for arm, user in users.items()}
    shown = cli("queue", "list", "--json").json()["events"]
    outcome = cli("queue", "show", str(shown[0]["id"]), "--json").json()["result"]
    assert outcome["arms"] == {"welcome-test": "holdout"} and outcome["entries"][0]["campaign"] is None


def test_weight_edit_and_replay_keep_the_stored_arm(cli, mautic, env, tmp_path):
    """Weights edited so the hash would now say A: the B user's replay stays in B and enters nothing twice."""
    add_campaign(mautic, "Welcome B")
    add_text_field(mautic, "exp_welcome")
    user = user_in("B")
    assert (
        cli("--config", str(write_config(tmp_path)), "signup", "--user-id", user, "--email", f"{user}@example.com").code
        == 0
    )
    edited = write_config(
        tmp_path,
        CONFIG.replace('weight = 45 },\n  { name = "B"', 'weight = 99 },\n  { name = "B"').replace(
            '"Welcome B", weight = 45', '"Welcome B", weight = 0.01'
        ),
    )
    assert (
        Experiment("welcome-test", "welcome", (Arm("A", 1, 99), Arm("B", 2, 0.01), Arm("h", None, 10)), "x").assign(
            user
        )
        == "A"
    )
    assert cli("--config", str(edited), "queue", "replay", "--since", "2000-01-01").code == 0
    assert cli("--config", str(edited), "queue", "run").code == 0
    view = contact_view(mautic, f"{user}@example.com")
    assert assignments(env["MAUTIC_CTL_DB"]) == {user: "B"}
    assert list(view.entries.values()) == [1]  # B's campaign, entered once
    assert "welcome" not in view.entries


def test_verify_config_checks_every_arm_and_the_field(cli, mautic, tmp_path):
    """Arm B's campaign missing and the exp_welcome field missing: exit 3, both named; once created: ok."""
    config = write_config(tmp_path)
    res = cli("--config", str(config), "verify-config", "--json")
    assert res.code == 3
    failed = {(c["kind"], c["key"]) for c in res.json()["checks"] if not c["ok"] and not c["warning"]}
    assert failed == {("campaign", "exp:welcome-test:B"), ("field", "exp_welcome")}
    add_campaign(mautic, "Welcome B")
    add_text_field(mautic, "exp_welcome")
    res = cli("--config", str(config), "verify-config", "--json")
    assert res.code == 0, res.stdout
    keys = {c["key"] for c in res.json()["checks"]}
    assert {"exp:welcome-test:A", "exp:welcome-test:B", "exp_welcome"} <= keys


def test_invalid_experiment_config_is_one_line_exit_2(env, tmp_path):
    """An unknown slot: exit 2 and one sentence naming it (installed command, no traceback)."""
    config = write_config(tmp_path, CONFIG.replace('slot = "welcome"', 'slot = "onboarding:gold"'))
    res = run_installed(["--config", str(config), "verify-config"], env)
    assert res.code == 2
    assert (
        "onboarding:gold" in res.stderr and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    )


def test_reconcile_counts_an_arm_or_the_holdout_as_the_welcome_entry(cli, mautic, env, tmp_path):
    """reconcile after a welcome experiment: users in arm B's campaign or held out are not "missing" their
    welcome entry, nothing drifts, and a later replay keeps every arm (nobody enters a campaign twice)."""
    add_campaign(mautic, "Welcome B")
    add_text_field(mautic, "exp_welcome")
    config = write_config(tmp_path)
    users = {arm: user_in(arm) for arm in ("A", "B", "holdout")}
    for user in users.values():
        assert cli("--config", str(config), "signup", "--user-id", user, "--email", f"{user}@example.com").code == 0
    res = cli("--config", str(config), "reconcile", "--json")
    assert res.code == 0, res.stdout + res.stderr
    assert res.json()["drifted"] == 0
    assert {d["user_id"]: d["missing_entries"] for d in res.json()["drift"]} == {}
    assert cli("--config", str(config), "queue", "replay", "--since", "2000-01-01").code == 0
    assert cli("--config", str(config), "queue", "run").code == 0
    assert assignments(env["MAUTIC_CTL_DB"]) == {user: arm for arm, user in users.items()}
    for arm, user in users.items():
        view = contact_view(mautic, f"{user}@example.com")
        assert all(n == 1 for n in view.entries.values()), (arm, view.entries)
        assert (view.entries == {}) == (arm == "holdout")
