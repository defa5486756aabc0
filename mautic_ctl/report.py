"""The lifecycle report: what users did in the window after entering a campaign (or its holdout).

Pure arithmetic over rows the store hands over — no SQL, no HTTP, no clock (``now`` is an argument).
For each group of users (by campaign, by experiment arm, or by arm and tier at entry), it counts
how many of them, within ``window`` after their entry, upgraded, downgraded, churned, reactivated and
paid (and the lifetime value added), and compares each group with the holdout of the same slot:
the difference of two proportions with a 95% Wald interval (normal approximation, unpooled),
``d ± 1.96·√(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀)``. That interval is honest only when each group has enough
users and enough of both outcomes, so a comparison that fails the usual rule (n ≥ 30 and at least
5 successes and 5 failures per group) carries a plain warning instead of a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

METRICS = ("upgraded", "downgraded", "churned", "reactivated", "paid")
TRANSITION_METRIC = {
    "upgrade": "upgraded",
    "downgrade": "downgraded",
    "cancel": "churned",
    "reactivate": "reactivated",
    "payment": "paid",
}
Z95 = 1.959963984540054
MIN_USERS = 30
MIN_OUTCOMES = 5
METHOD = (
    "difference vs holdout: 95% confidence interval for a difference of two proportions "
    "(Wald, normal approximation, unpooled)"
)


class By(StrEnum):
    CAMPAIGN = "campaign"
    ARM = "arm"
    TIER = "tier"


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A user entering a campaign slot: the campaign (None: held out), the experiment arm, the tier then."""

    user_id: str
    at: datetime
    slot: str
    campaign: str | None  # a label for the campaign (its configured name or id); None for a holdout
    experiment: str | None = None
    arm: str | None = None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """Something a user did: a transition (upgrade, downgrade, cancel, reactivate) or a payment."""

    user_id: str
    at: datetime
    kind: str
    amount: float = 0.0


@dataclass(slots=True)
class Group:
    slot: str
    label: str  # the campaign or arm shown in the row
    experiment: str | None
    arm: str | None
    campaign: str | None
    tier: str | None
    holdout: bool
    users: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    ltv_added: float = 0.0
    open_windows: int = 0  # users whose window has not closed yet: their outcomes may still come
    mautic: dict[str, int] | None = None  # Mautic's own numbers for the campaign's emails (--mautic)

    def rate(self, metric: str) -> float | None:
        return self.counts[metric] / self.users if self.users else None

    @property
    def scope(self) -> tuple[str, str | None]:
        """Groups compared with the same holdout: same slot (and same tier when split by tier)."""
        return (self.slot, self.tier)


@dataclass(frozen=True, slots=True)
class Interval:
    diff: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Comparison:
    group: str  # label of the group compared
    holdout: str  # label of the holdout it is compared with
    slot: str
    tier: str | None
    metric: str
    interval: Interval | None  # None: a group is empty
    reliable: bool  # enough users and outcomes for the normal approximation


@dataclass(slots=True)
class Report:
    by: By
    window_days: float
    since: datetime | None
    metric: str
    groups: list[Group]
    comparisons: list[Comparison]
    warnings: list[str]
    method: str = METHOD


def two_proportion_interval(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> Interval | None:
    """p₁ − p₀ with its Wald interval; None when a group is empty."""
    if n1 == 0 or n0 == 0:
        return None
    p1, p0 = x1 / n1, x0 / n0
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    diff = p1 - p0
    return Interval(diff, diff - half, diff + half)


def proportion_interval(x: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """One group's rate with its Wald 95% interval, clipped to [0, 1] (the chart's whiskers)."""
    if n == 0:
        return None
    p = x / n
    half = z * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


def enough(x: int, n: int) -> bool:
    return n >= MIN_USERS and x >= MIN_OUTCOMES and n - x >= MIN_OUTCOMES


def _key(entry: EntryRow, by: By) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(slot, experiment, arm, campaign, tier) identifying the entry's group."""
    tier = entry.tier if by is By.TIER else None
    if by is By.CAMPAIGN:
        experiment = entry.experiment if entry.campaign is None else None
        return (entry.slot, experiment, None, entry.campaign, tier)
    if entry.experiment is None:
        return (entry.slot, None, None, entry.campaign, tier)
    return (entry.slot, entry.experiment, entry.arm, entry.campaign, tier)


def _label(slot: str, experiment: str | None, arm: str | None, campaign: str | None, tier: str | None) -> str:
    if arm is not None:
        text = f"{experiment} / {arm}"
    elif campaign is None:
        text = f"{slot} holdout"
    else:
        text = campaign
    return f"{text} [{tier}]" if tier else text


def build(
    entries: Iterable[EntryRow],
    outcomes: Iterable[OutcomeRow],
    *,
    by: By = By.CAMPAIGN,
    window: timedelta = timedelta(days=30),
    since: datetime | None = None,
    now: datetime,
    metric: str = "upgraded",
) -> Report:
    """Group the entries, count each member's outcomes within the window, compare with the holdouts."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    first: dict[tuple, dict[str, EntryRow]] = {}
    for e in sorted(entries, key=lambda e: e.at):
        if since is not None and e.at < since:
            continue
        first.setdefault(_key(e, by), {}).setdefault(e.user_id, e)  # a user counts once per group: first entry
    by_user: dict[str, list[OutcomeRow]] = {}
    for o in outcomes:
        if o.kind in TRANSITION_METRIC:
            by_user.setdefault(o.user_id, []).append(o)

    groups: list[Group] = []
    for key, members in first.items():
        slot, experiment, arm, campaign, tier = key
        g = Group(slot, _label(*key), experiment, arm, campaign, tier, holdout=campaign is None, users=len(members))
        for user_id, entry in members.items():
            end = entry.at + window
            if end > now:
                g.open_windows += 1
            seen: set[str] = set()
            for o in by_user.get(user_id, ()):
                if entry.at < o.at <= end:
                    name = TRANSITION_METRIC[o.kind]
                    seen.add(name)
                    if name == "paid":
                        g.ltv_added += o.amount
            for name in seen:
                g.counts[name] += 1
        g.ltv_added = round(g.ltv_added, 2)
        groups.append(g)
    groups.sort(key=lambda g: (g.slot, g.tier or "", g.holdout, g.label))

    comparisons, warnings = _compare(groups, metric)
    open_total = sum(g.open_windows for g in groups)
    if open_total:
        warnings.append(
            f"{open_total} entr{'y' if open_total == 1 else 'ies'} happened less than {window.days} days ago: "
            "their window is still open, so their outcomes may still come (rates are lower bounds)."
        )
    return Report(by, window.total_seconds() / 86400, since, metric, groups, comparisons, warnings)


def _compare(groups: list[Group], metric: str) -> tuple[list[Comparison], list[str]]:
    holdouts: dict[tuple[str, str | None], Group] = {g.scope: g for g in groups if g.holdout}
    comparisons: list[Comparison] = []
    warnings: list[str] = []
    for g in groups:
        h = holdouts.get(g.scope)
        if g.holdout or h is None:
            continue
        x1, n1, x0, n0 = g.counts[metric], g.users, h.counts[metric], h.users
        reliable = enough(x1, n1) and enough(x0, n0)
        comparisons.append(
            Comparison(g.label, h.label, g.slot, g.tier, metric, two_proportion_interval(x1, n1, x0, n0), reliable)
        )
        if not reliable:
            small = min((g, h), key=lambda grp: grp.users)
            warnings.append(
                f"{g.label} vs {h.label}: too few users or {metric} outcomes to say anything "
                f"({small.label} has {small.users} users; the interval needs ≥ {MIN_USERS} users and "
                f"≥ {MIN_OUTCOMES} with and without the outcome in each group)."
            )
    return comparisons, warnings


def comparison_for(report: Report, group: Group) -> Comparison | None:
    return next((c for c in report.comparisons if c.group == group.label and c.tier == group.tier), None)


def as_dict(report: Report) -> dict:
    """The report as plain data (the --json payload)."""
    out_groups = []
    for g in report.groups:
        c = comparison_for(report, g)
        row = {
            "slot": g.slot,
            "label": g.label,
            "experiment": g.experiment,
            "arm": g.arm,
            "campaign": g.campaign,
            "tier": g.tier,
            "holdout": g.holdout,
            "users": g.users,
            **{m: g.counts[m] for m in METRICS},
            **{f"{m}_rate": _round(g.rate(m)) for m in METRICS},
            "ltv_added": g.ltv_added,
            "open_windows": g.open_windows,
        }
        if (ci := proportion_interval(g.counts[report.metric], g.users)) is not None:
            row["rate_ci95"] = [_round(ci[0]), _round(ci[1])]
        if c is not None and c.interval is not None:
            row["vs_holdout"] = {
                "holdout": c.holdout,
                "metric": c.metric,
                "diff": _round(c.interval.diff),
                "ci95_low": _round(c.interval.low),
                "ci95_high": _round(c.interval.high),
                "reliable": c.reliable,
            }
        if g.mautic is not None:
            row["mautic"] = g.mautic
        out_groups.append(row)
    return {
        "by": report.by.value,
        "window_days": report.window_days,
        "since": report.since.isoformat() if report.since else None,
        "metric": report.metric,
        "method": report.method,
        "groups": out_groups,
        "warnings": report.warnings,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
