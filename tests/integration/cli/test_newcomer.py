"""Issue 12's "done when": from an empty Mautic to a green `verify-config` with `doctor` and `bootstrap`
alone, following README — the installed `mautic-ctl`, an emulator with nothing seeded."""

from __future__ import annotations

import json

from mautic_ctl.emulator.seed import SEED_SEGMENTS  # noqa: F401  (documents what an empty Mautic lacks)
from tests.helpers import CLIENT_ID, CLIENT_SECRET, run_installed


def test_empty_mautic_to_green_verify_config_with_doctor_and_bootstrap(mautic, tmp_path):
    mautic.reset(seed=False)
    config = tmp_path / "config.toml"
    config.write_text(f'[mautic]\nbase_url = "{mautic.url}"\nclient_id = "{CLIENT_ID}"\n')
    config.chmod(0o600)
    env = {"MAUTIC_CLIENT_SECRET": CLIENT_SECRET, "MAUTIC_CTL_CONFIG": str(config),
           "MAUTIC_CTL_DB": str(tmp_path / "q.db")}  # fmt: skip

    res = run_installed(["doctor"], env)  # 1. what is wrong, and what to run
    assert res.code == 4, res.stderr
    assert "`mautic-ctl bootstrap` can create them" in res.stdout
    assert "config\tMAUTIC_CLIENT_SECRET\t\tset (hidden)" in res.stdout and CLIENT_SECRET not in res.stdout + res.stderr
    assert run_installed(["verify-config"], env).code == 3

    plan = run_installed(["bootstrap", "--json"], env)  # 2. the plan: nothing is touched yet
    assert plan.code == 0, plan.stderr
    creates = {(i["kind"], i["key"]) for i in plan.json()["items"] if i["action"] == "create"}
    assert {("segment", "new_users"), ("segment", "pro"), ("field", "lifetime_value")} <= creates
    assert not mautic.state.segments

    res = run_installed(["bootstrap", "--apply"], env)  # 3. create, and get the snippet to paste
    assert res.code == 0, res.stderr
    assert res.stdout.startswith("[segments]\nnew_users = ")
    ltv = mautic.state.field_by_alias["lifetime_value"]
    assert (ltv.type, ltv.properties.get("scale")) == ("number", "2")  # money keeps its cents
    with config.open("a") as fh:
        fh.write("\n" + res.stdout)

    res = run_installed(["verify-config", "--json"], env)  # 4. green
    assert res.code == 0, res.stderr
    assert {c["key"] for c in res.json()["checks"] if c["kind"] == "segment"} >= {"new_users", "tier:pro", "churned"}
    again = run_installed(["bootstrap", "--json"], env)  # idempotent: a second run plans nothing
    assert again.code == 0 and again.json()["to_create"] == 0
    res = run_installed(["doctor", "--json"], env)
    assert res.code == 0, res.stdout
    assert json.loads(res.stdout)["ok"] is True


def test_bootstrap_never_touches_what_exists_and_creates_campaign_shells(mautic, env):
    """Against the seeded emulator: segments and fields exist; --campaigns creates none that exist, and
    creates missing ones unpublished; an unpublished existing segment is reported, not published."""
    before = {sid: (s.name, s.is_published) for sid, s in mautic.state.segments.items()}
    res = run_installed(["bootstrap", "--apply", "--campaigns", "--json"], env)
    assert res.code == 0, res.stderr
    assert all(i["action"] == "exists" for i in res.json()["items"]), res.json()["items"]
    assert {sid: (s.name, s.is_published) for sid, s in mautic.state.segments.items()} == before

    env2 = env | {"MAUTIC_RETENTION_CAMPAIGN_ID": "", "MAUTIC_WINBACK_CAMPAIGN_ID": "999"}
    mautic.state.campaigns.pop(5)  # the win-back campaign was deleted in Mautic
    res = run_installed(["bootstrap", "--apply", "--campaigns", "--json"], env2)
    assert res.code == 0, res.stderr
    created = [i for i in res.json()["items"] if i["action"] == "created"]
    assert [(i["kind"], i["key"], i["name"]) for i in created] == [("campaign", "winback", "Win-back")]
    shell = mautic.state.campaigns[created[0]["mautic_id"]]
    assert shell.is_published is False and "winback = " in res.json()["snippet"]


def test_doctor_warns_about_basic_auth_with_numbers_and_fails_on_wrong_credentials(env, mautic):
    basic = env | {"MAUTIC_CLIENT_ID": "", "MAUTIC_CLIENT_SECRET": "", "MAUTIC_USERNAME": "admin",
                   "MAUTIC_PASSWORD": "mautic-emulator"}  # fmt: skip
    res = run_installed(["doctor", "--json"], basic)
    assert res.code == 0, res.stdout
    checks = {c["name"]: c for c in res.json()["checks"]}
    assert checks["mode"]["detail"] == "HTTP Basic" and checks["reachable"]["detail"] == "Mautic 5.1.0"
    assert checks["MAUTIC_PASSWORD"]["detail"] == "set (hidden)" and "mautic-emulator" not in res.stdout
    warning = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: HTTP Basic: this call took ")]
    assert warning and "0.46 s of server CPU" in warning[0] and "MAUTIC_CLIENT_SECRET" in warning[0]

    res = run_installed(["doctor"], basic | {"MAUTIC_PASSWORD": "wrong"})
    assert res.code == 4
    assert "MAUTIC_PASSWORD" in res.stderr and "wrong" not in res.stdout
