"""The report's arithmetic on a hand-built history: groups, windows, counts, value, interval, warnings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.cli.report_view import bar, flat_rows
from mautic_ctl.report import (
    By,
    EntryRow,
    OutcomeRow,
    as_dict,
    build,
    proportion_interval,
    two_proportion_interval,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def entry(user, arm, day=0, tier="free"):
    campaign = None if arm == "holdout" else f"Welcome {arm}"
    return EntryRow(user, T0 + day * DAY, "welcome", campaign, "wx", arm, tier)


def test_counts_within_the_window_after_each_users_own_entry():
    """Outcomes count only in (entry, entry + window]: before entry, or after the window, they do not."""
    entries = [entry("a1", "A", 0), entry("a2", "A", 10), entry("h1", "holdout", 0), entry("h2", "holdout", 5)]
    outcomes = [
        OutcomeRow("a1", T0 + 30 * DAY, "upgrade"),  # exactly at the end of a1's window: counts
        OutcomeRow("a2", T0 + 41 * DAY, "upgrade"),  # a2 entered day 10: window ends day 40: too late
        OutcomeRow("a2", T0 + 5 * DAY, "cancel"),  # before a2's entry: not an outcome of it
        OutcomeRow("a2", T0 + 12 * DAY, "cancel"),
        OutcomeRow("a2", T0 + 13 * DAY, "reactivate"),
        OutcomeRow("a1", T0 + 2 * DAY, "payment", 10.0),
        OutcomeRow("a1", T0 + 3 * DAY, "payment", 12.5),  # two payments: one payer, 22.50 added
        OutcomeRow("h1", T0 + 30 * DAY + timedelta(seconds=1), "upgrade"),  # one second too late
        OutcomeRow("h2", T0 + 6 * DAY, "downgrade"),
    ]
    report = build(entries, outcomes, by=By.ARM, window=30 * DAY, now=NOW)
    groups = {g.label: g for g in report.groups}
    a, h = groups["wx / A"], groups["wx / holdout"]
    assert (a.users, a.counts) == (2, {"upgraded": 1, "downgraded": 0, "churned": 1, "reactivated": 1, "paid": 1})
    assert a.ltv_added == 22.5
    assert (h.users, h.counts["upgraded"], h.counts["downgraded"]) == (2, 0, 1)
    assert h.holdout and not a.holdout
    assert a.rate("upgraded") == 0.5


def test_a_user_counts_once_per_group_from_the_first_entry_and_since_filters_entries():
    """Two entries of one user (a replay): one member, window from the first; --since drops older entries."""
    entries = [entry("u", "A", 0), entry("u", "A", 20), entry("v", "A", 40)]
    outcomes = [OutcomeRow("u", T0 + 25 * DAY, "upgrade"), OutcomeRow("u", T0 + 45 * DAY, "upgrade")]
    report = build(entries, outcomes, by=By.ARM, window=30 * DAY, now=NOW)
    (g,) = report.groups
    assert g.users == 2 and g.counts["upgraded"] == 1  # u's upgrade on day 25 (first entry day 0 + 30)
    since = build(entries, outcomes, by=By.ARM, window=30 * DAY, now=NOW, since=T0 + 15 * DAY)
    (g2,) = since.groups
    assert g2.users == 2 and g2.counts["upgraded"] == 1  # now u's window starts day 20: day 45 is in it


def test_interval_is_the_wald_difference_of_two_proportions():
    """30/100 vs 20/100: d = 0.10 and half-width 1.96·√(.3·.7/100 + .2·.8/100)."""
    got = two_proportion_interval(30, 100, 20, 100)
    half = 1.959963984540054 * math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100)
    assert got is not None
    assert got.diff == pytest.approx(0.10)
    assert (got.low, got.high) == (pytest.approx(0.10 - half), pytest.approx(0.10 + half))
    assert round(got.low, 4) == -0.0192 and round(got.high, 4) == 0.2192  # includes 0: not evidence
    assert not got.excludes_zero
    assert two_proportion_interval(60, 200, 20, 200).excludes_zero
    assert two_proportion_interval(1, 0, 1, 5) is None
    assert proportion_interval(0, 10) == (0.0, 0.0) and proportion_interval(5, 0) is None


def test_report_compares_each_arm_with_its_holdout_and_warns_when_too_small():
    """Big arms get a reliable comparison; a tiny group gets a plain warning, not a verdict."""
    entries = [entry(f"a{i}", "A") for i in range(200)] + [entry(f"h{i}", "holdout") for i in range(200)]
    entries += [entry(f"b{i}", "B") for i in range(12)]
    outcomes = [OutcomeRow(f"a{i}", T0 + DAY, "upgrade") for i in range(60)]
    outcomes += [OutcomeRow(f"h{i}", T0 + DAY, "upgrade") for i in range(20)]
    outcomes += [OutcomeRow(f"b{i}", T0 + DAY, "upgrade") for i in range(3)]
    report = build(entries, outcomes, by=By.ARM, window=30 * DAY, now=NOW)
    comps = {c.group: c for c in report.comparisons}
    assert comps["wx / A"].reliable and comps["wx / A"].interval.excludes_zero
    assert comps["wx / A"].interval.diff == pytest.approx(60 / 200 - 20 / 200)
    assert not comps["wx / B"].reliable
    assert any("wx / B vs wx / holdout: too few" in w and "12 users" in w for w in report.warnings)
    data = as_dict(report)
    row_a = next(r for r in data["groups"] if r["label"] == "wx / A")
    assert row_a["vs_holdout"]["reliable"] is True and row_a["upgraded_rate"] == 0.3
    assert "Wald" in data["method"] and "95%" in data["method"]
    flat = {r["label"]: r for r in flat_rows(data)}
    assert flat["wx / A"]["vs_holdout_diff"] == pytest.approx(0.2) and flat["wx / holdout"]["vs_holdout_diff"] is None


def test_by_campaign_merges_arms_sharing_a_campaign_and_by_tier_splits_them():
    """By campaign: rows are campaigns (holdout as '<slot> holdout'); by tier: each arm per tier at entry."""
    entries = [entry("p1", "A", tier="pro"), entry("f1", "A", tier="free"), entry("h1", "holdout", tier="pro")]
    entries.append(EntryRow("old", T0, "welcome", "Welcome A"))  # entered before the experiment
    camp = build(entries, [], by=By.CAMPAIGN, now=NOW)
    assert {g.label: g.users for g in camp.groups} == {"Welcome A": 3, "welcome holdout": 1}
    tier = build(entries, [], by=By.TIER, now=NOW)
    assert {g.label for g in tier.groups} == {"wx / A [pro]", "wx / A [free]", "wx / holdout [pro]", "Welcome A"}
    assert [c.group for c in tier.comparisons] == ["wx / A [pro]"]  # compared within its tier only


def test_open_windows_are_counted_and_warned():
    """Entries younger than the window: counted as open, with a warning that rates are lower bounds."""
    report = build([entry("u", "A", 0)], [], by=By.ARM, window=30 * DAY, now=T0 + 10 * DAY)
    assert report.groups[0].open_windows == 1
    assert any("still open" in w for w in report.warnings)


def test_bar_scales_to_the_largest_rate():
    assert bar(0.5, 0.5) == "█" * 20
    assert bar(0.25, 0.5) == "█" * 10
    assert bar(0.0, 0.5) == "" and bar(None, 0.5) == ""
    assert len(bar(0.26, 0.5)) == 11  # ten full cells and a partial one
