"""`mautic-ctl report` end to end: a simulated population through the real record and drain paths, against
the emulator, and the report finds the difference built into it."""

from __future__ import annotations

import csv
import io
import time

import pytest

from tests.helpers import run_installed
from tests.integration.cli.test_experiments import add_campaign, add_text_field, write_config
from tests.simulation import UPGRADE_RATE, experiment_config, run_population

N_USERS = 5000
SEED = 15


@pytest.fixture
def population(cli, mautic, env, tmp_path, monkeypatch):
    """5,000 seeded users through a welcome experiment (A 45 / B 45 / holdout 10), then their upgrades."""
    for name in ("PRO_ONBOARDING", "ENTERPRISE_ONBOARDING", "RETENTION", "WINBACK"):
        monkeypatch.delenv(f"MAUTIC_{name}_CAMPAIGN_ID")  # only the welcome slot matters here: fewer calls
    b_id = add_campaign(mautic, "Welcome B")
    add_text_field(mautic, "exp_welcome")
    config = write_config(tmp_path, experiment_config())
    started = time.monotonic()
    run_population(cli, mautic, config, tmp_path, b_id, n=N_USERS, seed=SEED)
    print(f"simulated {N_USERS} users in {time.monotonic() - started:.1f} s")
    return config


@pytest.mark.timeout(300)
def test_report_finds_the_built_in_difference(cli, population, tmp_path, capsys):
    """Arms A and B beat the holdout by what was built in (A +20 pts, B +10 pts): each true difference lies in
    the reported 95% interval, the intervals exclude 0, and late upgrades (day 40-60) are not counted."""
    res = cli("--config", str(population), "report", "--by", "arm", "--json")
    assert res.code == 0, res.stderr
    data = res.json()
    rows = {r["label"]: r for r in data["groups"]}
    assert set(rows) == {"welcome-2026 / A", "welcome-2026 / B", "welcome-2026 / holdout"}
    assert sum(r["users"] for r in rows.values()) == N_USERS
    holdout = rows["welcome-2026 / holdout"]
    assert 0.07 < holdout["users"] / N_USERS < 0.13  # weight 10 of 100
    for arm in ("A", "B"):
        row = rows[f"welcome-2026 / {arm}"]
        vs = row["vs_holdout"]
        true_diff = UPGRADE_RATE[arm] - UPGRADE_RATE["holdout"]
        assert vs["reliable"] and vs["ci95_low"] > 0, row
        assert vs["ci95_low"] <= true_diff <= vs["ci95_high"], row
        assert abs(row["upgraded_rate"] - UPGRADE_RATE[arm]) < 0.04, row
        assert row["paid"] == row["upgraded"] and row["ltv_added"] == pytest.approx(29.0 * row["paid"])
    assert abs(holdout["upgraded_rate"] - UPGRADE_RATE["holdout"]) < 0.04
    assert "two proportions" in data["method"] and data["warnings"] == []
    # the same numbers as a table on a terminal, with the method said in it, and as CSV
    table = cli("--config", str(population), "report", "--by", "arm")
    assert table.code == 0 and "95% confidence interval" in table.stdout and "█" in table.stdout
    by_tier = cli("--config", str(population), "report", "--by", "tier")
    assert "welcome-2026 / A [free]" in by_tier.stdout  # a label with brackets is text, not markup
    as_csv = list(csv.DictReader(io.StringIO(cli("--config", str(population), "report", "--format", "csv").stdout)))
    assert {r["label"] for r in as_csv} == {"campaign 1", "Welcome B", "welcome holdout"}
    by_campaign = {r["label"]: r for r in as_csv}
    assert int(by_campaign["campaign 1"]["users"]) == rows["welcome-2026 / A"]["users"]
    # a window that closes before anyone upgraded counts nothing
    short = cli("--config", str(population), "report", "--by", "arm", "--window", "12h", "--json").json()
    assert all(r["upgraded"] == 0 for r in short["groups"])
    page = tmp_path / "report.html"
    assert cli("--config", str(population), "report", "--by", "arm", "--html", str(page)).code == 0
    html = page.read_text()
    assert "<svg" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_report_mautic_joins_the_campaign_emails_numbers(cli, mautic, env, tmp_path):
    """--mautic: each campaign row gets Mautic's sent / read / clicked for the emails its email.send events send."""
    from mautic_ctl.emulator.crons import run_console
    from mautic_ctl.emulator.emails import add_email, click, read
    from mautic_ctl.emulator.state import CampaignEvent

    b_id = add_campaign(mautic, "Welcome B")
    first, second = add_email(mautic.state, "Welcome B 1"), add_email(mautic.state, "Welcome B 2")
    mautic.state.campaigns[b_id].events = [
        CampaignEvent(90 + i, f"Send {e.name}", "email.send", "action", i, {"email": e.id})
        for i, e in enumerate((first, second))
    ]
    add_text_field(mautic, "exp_welcome")
    config = write_config(tmp_path, experiment_config())
    users = [f"user-{i}" for i in range(40)]
    for user in users:
        assert cli("--config", str(config), "signup", "--user-id", user, "--email", f"{user}@example.com").code == 0
    run_console(mautic.state, f"php bin/console mautic:campaigns:trigger -i {b_id}")
    in_b = [c for c, _ in mautic.state.campaign_rows(b_id)]
    assert in_b, "some of 40 users are in arm B"
    read(mautic.state, first.id, in_b[0])
    click(mautic.state, first.id, in_b[0])
    click(mautic.state, second.id, in_b[0])
    mautic.counters.reset()
    res = cli("--config", str(config), "report", "--mautic", "--json")
    assert res.code == 0, res.stderr
    rows = {r["label"]: r for r in res.json()["groups"]}
    assert rows["Welcome B"]["mautic"] == {"emails": 2, "sent": 2 * len(in_b), "read": 1, "clicked": 2}
    assert rows["campaign 1"]["mautic"] == {"emails": 0, "sent": 0, "read": 0, "clicked": 0}  # points only
    assert "mautic" not in rows["welcome holdout"]
    assert mautic.counters.calls("GET", "/api/emails/{id}") == 2  # each email read once
    table = cli("--config", str(config), "report", "--mautic")
    assert "Mautic sent" in table.stdout


def test_report_with_nothing_recorded_and_bad_options(cli, env):
    """An empty store: an empty report, exit 0. A bad --by / --window: exit 2 and one line."""
    res = cli("report", "--json")
    assert res.code == 0 and res.json()["groups"] == []
    bad = cli("report", "--by", "colour")
    assert bad.code == 2 and "--by 'colour'" in bad.stderr
    assert cli("report", "--window", "soon").code == 2


def test_installed_report_prints_a_table(env):
    res = run_installed(["report"], env)
    assert res.code == 0, res.stderr
    assert "report by campaign" in res.stdout
