"""`mautic-ctl reconcile` and `--dry-run`, end to end against the emulator over real HTTP.

Issue 10, situation 5: a marketer edits Mautic by hand (removes a contact from a segment, edits a
field, deletes a contact, puts one into a second tier segment, adds one to a campaign). `reconcile`
finds each, `--fix` repairs them through the queue, a second `reconcile` exits 0.
"""

from __future__ import annotations

import json

from mautic_ctl.emulator.seed import SEED_CAMPAIGNS, SEED_SEGMENTS
from tests.helpers import contact_view, run_installed, snapshot

TIER_SEGMENTS = {"free", "pro", "enterprise"}


def ok(res):
    assert res.code == 0, res.stdout + res.stderr
    return res


def signups(cli, n=5):
    for i in range(1, n + 1):
        ok(cli("signup", "--user-id", f"u{i}", "--email", f"u{i}@example.com"))


def hand_edits(mautic):
    """What a marketer does in the Mautic UI behind the tool's back."""
    state = mautic.state
    cid = {i: state.contact_by_email(f"u{i}@example.com").id for i in range(1, 6)}
    with state.lock:
        state.segment_remove(SEED_SEGMENTS["free"], cid[1])  # u1: removed from its tier segment
        state.contacts[cid[2]].values["subscription_tier"] = "enterprise"  # u2: field edited
        state.delete_contact(cid[3])  # u3: contact deleted
        state.segment_add(SEED_SEGMENTS["pro"], cid[4])  # u4: in two tier segments
        state.campaign_add(SEED_CAMPAIGNS["onboarding_pro"], cid[5])  # u5: put into a campaign by hand
    return cid


def test_reconcile_finds_hand_edits_fix_repairs_them_and_a_second_run_is_clean(cli, mautic):
    signups(cli)
    cid = hand_edits(mautic)

    res = cli("reconcile", "--json")
    assert res.code == 3, res.stderr
    report = res.json()
    drift = {d["user_id"]: {x["what"]: (x["has"], x["should"]) for x in d["differences"]} for d in report["drift"]}
    assert drift["u1"] == {"segment:tier:free": ("not a member", "member")}
    assert drift["u2"] == {"field:subscription_tier": ("enterprise", "free")}
    assert "contact" in drift["u3"]
    assert drift["u4"] == {"segment:tier:pro": ("member", "not a member")}
    assert "u5" not in drift
    assert report["drifted"] == 4 and report["users"] == 5

    fixed = cli("reconcile", "--fix", "--json")
    assert fixed.code == 0, fixed.stderr
    assert fixed.json()["fixed"]["applied"] == 4 and fixed.json()["fixed"]["dead"] == 0
    events = cli("queue", "list", "--json").json()["events"]
    assert sorted(e["user_id"] for e in events if e["source"] == "reconcile") == ["u1", "u2", "u3", "u4"]

    again = cli("reconcile", "--json")
    assert again.code == 0, again.stdout + again.stderr
    assert again.json()["drifted"] == 0
    missing = {d["user_id"]: d["missing_entries"] for d in again.json()["drift"]}
    assert missing == {"u3": ["welcome"]}  # the re-created contact: reported, never entered by reconcile

    for i in (1, 2, 3, 4):
        view = contact_view(mautic, f"u{i}@example.com")
        assert view.segments & TIER_SEGMENTS == {"free"}, (i, view)
        assert view.fields["subscription_tier"] == "free"
    assert contact_view(mautic, "u3@example.com").entries == {}  # no campaign entered by reconcile

    # The hand-added campaign is in the rebuilt mirror: an upgrade does not enter it a second time.
    ok(cli("plan-change", "--user-id", "u5", "--to", "pro"))
    assert mautic.state.campaign_rotation(SEED_CAMPAIGNS["onboarding_pro"], cid[5]) == 1


def test_reconcile_from_the_products_export_rebuilds_a_lost_queue(env, mautic, tmp_path):
    """A fresh queue file: `reconcile --from export.csv` (installed command) reads every user's contact,
    reports the drift, and the rebuilt mirror keeps the next upgrade from restarting Welcome."""
    for i in (1, 2):
        assert run_installed(["signup", "--user-id", f"p{i}", "--email", f"p{i}@example.com"], env).code == 0
    (tmp_path / "queue.db").unlink()
    export = tmp_path / "users.csv"
    export.write_text("user_id,email,tier,status\np1,p1@example.com,free,active\np2,P2@Example.com,pro,active\n")
    res = run_installed(["reconcile", "--from", str(export), "--json"], env)
    assert res.code == 3, res.stderr
    drift = {d["user_id"]: d for d in res.json()["drift"]}
    assert set(drift) == {"p2"}
    assert {x["what"] for x in drift["p2"]["differences"]} == {"field:subscription_tier", "segment:tier:free",
                                                               "segment:tier:pro"}  # fmt: skip
    assert drift["p2"]["missing_entries"] == ["onboarding:pro"]
    fixed = run_installed(["reconcile", "--from", "-", "--fix"], env, stdin=export.read_bytes())
    assert fixed.code == 0, fixed.stderr
    assert run_installed(["reconcile", "--from", str(export)], env).code == 0
    assert run_installed(["plan-change", "--user-id", "p1", "--to", "pro"], env).code == 0
    view = contact_view(mautic, "p1@example.com")
    assert view.entries == {"welcome": 1, "onboarding_pro": 1}


def test_reconcile_refuses_a_bad_export_with_exit_2(cli, mautic, tmp_path):
    export = tmp_path / "users.jsonl"
    export.write_text('{"user_id": "a", "email": "a@example.com", "tier": "free"}\n{"user_id": "b", "email": "x"}\n')
    res = cli("reconcile", "--from", str(export))
    assert res.code == 2 and "record 2" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_dry_run_changes_nothing_in_mautic_or_the_queue(cli, mautic, db_path, tmp_path):
    """Every --dry-run command reads Mautic only, prints the calls, and leaves the emulator's state and
    the queue file byte-for-byte unchanged."""
    signups(cli, 4)
    ok(cli("plan-change", "--user-id", "u4", "--to", "pro", "--no-apply"))  # one due event for `queue run`
    hand_edits_small = mautic.state.contact_by_email("u1@example.com").id
    with mautic.state.lock:
        mautic.state.segment_remove(SEED_SEGMENTS["free"], hand_edits_small)
    before_db, before_mautic = db_path.read_bytes(), snapshot(mautic)
    feed = tmp_path / "events.jsonl"
    feed.write_text(json.dumps({"type": "plan_change", "user_id": "u2", "to": "enterprise"}) + "\n")

    runs = {
        "signup": cli("signup", "--user-id", "n1", "--email", "n1@example.com", "--tier", "pro", "--dry-run", "--json"),
        "plan-change": cli("plan-change", "--user-id", "u3", "--to", "cancelled", "--dry-run", "--json"),
        "sync-contact": cli("sync-contact", "--user-id", "u3", "--set", "lifetime_value=12", "--dry-run", "--json"),
        "ingest": cli("ingest", str(feed), "--dry-run", "--json"),
        "queue run": cli("queue", "run", "--dry-run", "--json"),
        "reconcile --fix": cli("reconcile", "--fix", "--dry-run", "--json"),
    }
    assert db_path.read_bytes() == before_db
    assert snapshot(mautic) == before_mautic
    for name, res in runs.items():
        assert res.code == (3 if name.startswith("reconcile") else 0), (name, res.stdout, res.stderr)

    signup = runs["signup"].json()["events"][0]
    paths = [(c["method"], c["path"]) for c in signup["calls"]]
    assert ("POST", "/api/contacts/batch/new") in paths
    assert ("POST", f"/api/campaigns/{SEED_CAMPAIGNS['welcome']}/contact/{{new}}/add") in paths
    cancel = runs["plan-change"].json()["events"][0]
    assert cancel["transition"] == "cancel" and cancel["after"]["status"] == "cancelled"
    assert any("subscription_status=cancelled" in c["body"] for c in cancel["calls"])
    queued = {e["user_id"]: e for e in runs["queue run"].json()["events"]}
    assert queued["u4"]["transition"] == "upgrade"
    ingest = {e["user_id"]: e for e in runs["ingest"].json()["events"]}
    assert ingest["u2"]["transition"] == "upgrade" and "u4" in ingest
    plan = {p["user_id"]: p for p in runs["reconcile --fix"].json()["plan"]}  # u4's due event drains too
    assert sorted(plan) == ["u1", "u4"] and runs["reconcile --fix"].json()["corrections"][0].endswith("-u1")
    assert [c["path"] for c in plan["u1"]["calls"]] == [f"/api/segments/{SEED_SEGMENTS['free']}/contacts/add"]

    table = cli("plan-change", "--user-id", "u3", "--to", "pro", "--dry-run")
    assert (
        table.code == 0 and "/api/contacts/batch/edit" in table.stdout and "nothing was recorded" in table.stderr
    )  # a piped table's title goes to stderr
    assert db_path.read_bytes() == before_db
