"""Pure: live contact -> rules state, shared-contact policy parsing, configuration completeness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.completeness import inexpressible, missing_tier_segments, unconfigured_campaigns
from mautic_ctl.events import Event, EventKind
from mautic_ctl.identity import OnShared, live_state, parse_on_shared, state_from_dict, state_to_dict
from mautic_ctl.rules import Policy, UserState

POLICY = Policy(segments=frozenset({"tier:free", "tier:pro", "tier:enterprise", "churned", "new_users"}))
AT = datetime(2026, 11, 20, tzinfo=UTC)


def test_live_state_reads_tier_status_and_memberships():
    state = live_state(
        7, {"subscription_tier": "Pro", "subscription_status": "active", "lifetime_value": "12.5"},
        ["tier:pro"], ["welcome"], UserState(email="a@example.com"), POLICY,
    )  # fmt: skip
    assert state == UserState(True, 7, "a@example.com", "pro", "active", frozenset({"tier:pro"}),
                              frozenset({"welcome"}), 12.5)  # fmt: skip


def test_live_state_of_a_hand_made_contact_is_not_known_and_an_absent_one_keeps_the_mirror():
    assert not live_state(3, {}, [], [], UserState(), POLICY).known
    mirror = UserState(True, 9, "a@example.com", "pro", "active", frozenset({"tier:pro"}), frozenset({"welcome"}))
    gone = live_state(None, {}, [], [], mirror, POLICY)
    assert (gone.known, gone.contact_id, gone.tier, gone.segments, gone.campaigns) == (
        True, None, "pro", frozenset(), frozenset()
    )  # fmt: skip
    assert state_from_dict(state_to_dict(mirror)) == mirror


@pytest.mark.parametrize("value", ["adopt", "ADOPT", " Refuse "])
def test_on_shared_contact_is_case_insensitive(value):
    assert parse_on_shared(value) in (OnShared.ADOPT, OnShared.REFUSE)


def test_on_shared_contact_rejects_other_values():
    with pytest.raises(ValueError, match="adopt' or 'refuse"):
        parse_on_shared("merge")


def test_tier_without_segment_and_unconfigured_campaigns():
    assert missing_tier_segments(("free", "pro", "enterprise"), {"tier:free", "tier:enterprise"}) == ["pro"]
    tiers = ("free", "pro", "enterprise")
    configured = {"welcome", "winback", "onboarding:pro"}
    assert unconfigured_campaigns(tiers, configured, {"retention"}) == ["onboarding:enterprise"]


def event(kind: EventKind, tier: str | None) -> Event:
    return Event(kind, "u1", "e1", AT, email="a@example.com", tier=tier)


def test_an_event_into_a_tier_without_segment_is_inexpressible():
    segs = {"free", "enterprise"}
    why = inexpressible(event(EventKind.PLAN_CHANGE, "pro"), ("free", "pro", "enterprise"), "free", segs)
    assert why and "segments.pro" in why and "MAUTIC_PRO_TIER_SEGMENT_ID" in why
    assert inexpressible(event(EventKind.PLAN_CHANGE, "cancelled"), ("free", "pro", "enterprise"), "free", segs) is None
    assert inexpressible(event(EventKind.SIGNUP, None), ("free", "pro", "enterprise"), "free", segs) is None
    assert inexpressible(event(EventKind.PLAN_CHANGE, "pro"), ("free", "pro", "enterprise"), "free", set()) is None
