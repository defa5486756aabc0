"""The lifecycle rules as pure functions: every transition pair, and the seed's checklist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.events import CANCELLED, Vocabulary, build_event
from mautic_ctl.rules import (
    CHURNED,
    NEW_USERS,
    RETENTION,
    WELCOME,
    WINBACK,
    OpKind,
    Policy,
    RuleError,
    Transition,
    UserState,
    onboarding,
    plan,
    tier_segment,
)

TIERS = ("free", "pro", "enterprise")
POLICY = Policy(
    tiers=TIERS,
    segments=frozenset({NEW_USERS, CHURNED, *(tier_segment(t) for t in TIERS)}),
    campaigns=frozenset({WELCOME, RETENTION, WINBACK, onboarding("pro"), onboarding("enterprise")}),
)
VOCAB = Vocabulary(TIERS, {})
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def signup(tier: str = "free", **kw):
    return build_event("signup", VOCAB, user_id="u1", email="u1@example.com", tier=tier, now=NOW, **kw)


def change(to: str, **kw):
    return build_event("plan_change", VOCAB, user_id="u1", tier=to, now=NOW, **kw)


def state_after(*events, policy: Policy = POLICY) -> UserState:
    state = UserState()
    for event in events:
        state = plan(event, state, policy).after
        state = UserState(**{**{f: getattr(state, f) for f in state.__slots__}, "contact_id": 7})
    return state


def ops(p, kind):
    return [op.target for op in p.ops if op.kind is kind]


def test_signup_enters_welcome_and_joins_new_users_and_tier():
    """User signup triggers the welcome campaign and joins New Users + the tier segment."""
    p = plan(signup(), UserState(), POLICY)
    assert p.transition is Transition.SIGNUP
    assert ops(p, OpKind.CAMPAIGN_ADD) == [WELCOME]
    assert sorted(ops(p, OpKind.SEGMENT_ADD)) == sorted([NEW_USERS, "tier:free"])
    upsert = next(op for op in p.ops if op.kind is OpKind.UPSERT)
    assert upsert.fields == {
        "email": "u1@example.com",
        "subscription_tier": "free",
        "subscription_status": "active",
        "signup_date": "2026-11-26",
    }
    assert p.ops[0].kind is OpKind.UPSERT  # the contact exists before any membership call


def test_paid_signup_also_enters_its_onboarding():
    """A signup straight into pro enters Welcome and Pro Onboarding."""
    p = plan(signup("pro", first_name="Ada"), UserState(), POLICY)
    assert ops(p, OpKind.CAMPAIGN_ADD) == [WELCOME, onboarding("pro")]
    assert p.ops[0].fields["firstname"] == "Ada"


def test_free_to_pro_moves_segment_and_enters_pro_onboarding():
    """free -> pro: leave Free, join Pro, enter Pro Onboarding, fields updated."""
    p = plan(change("pro"), state_after(signup()), POLICY)
    assert p.transition is Transition.UPGRADE
    assert ops(p, OpKind.SEGMENT_REMOVE) == ["tier:free"]
    assert ops(p, OpKind.SEGMENT_ADD) == ["tier:pro"]
    assert ops(p, OpKind.CAMPAIGN_ADD) == [onboarding("pro")]
    assert p.ops[0].kind is OpKind.UPDATE and p.ops[0].fields == {"subscription_tier": "pro"}


def test_pro_to_enterprise_triggers_enterprise_onboarding():
    """pro -> enterprise enters Enterprise Onboarding."""
    p = plan(change("enterprise"), state_after(signup("pro")), POLICY)
    assert p.transition is Transition.UPGRADE
    assert ops(p, OpKind.CAMPAIGN_ADD) == [onboarding("enterprise")]
    assert ops(p, OpKind.SEGMENT_REMOVE) == ["tier:pro"]


def test_downgrade_leaves_higher_tier_segments_and_enters_retention():
    """enterprise -> free: leave Enterprise, join Free, enter Retention."""
    p = plan(change("free"), state_after(signup("pro"), change("enterprise")), POLICY)
    assert p.transition is Transition.DOWNGRADE
    assert ops(p, OpKind.SEGMENT_REMOVE) == ["tier:enterprise"]
    assert ops(p, OpKind.SEGMENT_ADD) == ["tier:free"]
    assert ops(p, OpKind.CAMPAIGN_ADD) == [RETENTION]
    assert p.after.segments == {NEW_USERS, "tier:free"}


def test_downgrade_without_retention_campaign_enters_nothing():
    """Retention is optional: without it a downgrade enters no campaign."""
    policy = Policy(tiers=TIERS, segments=POLICY.segments, campaigns=POLICY.campaigns - {RETENTION})
    p = plan(change("free"), state_after(signup("pro"), policy=policy), policy)
    assert ops(p, OpKind.CAMPAIGN_ADD) == []


def test_cancellation_joins_churned_falls_back_and_enters_winback():
    """Cancellation: join Churned, leave paid tiers, join the cancel tier, enter Win-back, status cancelled."""
    p = plan(change(CANCELLED), state_after(signup("pro")), POLICY)
    assert p.transition is Transition.CANCEL
    assert sorted(ops(p, OpKind.SEGMENT_ADD)) == [CHURNED, "tier:free"]
    assert ops(p, OpKind.SEGMENT_REMOVE) == ["tier:pro"]
    assert ops(p, OpKind.CAMPAIGN_ADD) == [WINBACK]
    assert p.ops[0].fields == {"subscription_tier": "free", "subscription_status": "cancelled"}


def test_reactivation_leaves_churned_and_winback_then_upgrades():
    """cancelled -> pro: leave Churned and Win-back, join Pro, enter Pro Onboarding."""
    p = plan(change("pro"), state_after(signup("free"), change(CANCELLED)), POLICY)
    assert p.transition is Transition.REACTIVATE
    assert sorted(ops(p, OpKind.SEGMENT_REMOVE)) == [CHURNED, "tier:free"]
    assert ops(p, OpKind.CAMPAIGN_REMOVE) == [WINBACK]
    assert ops(p, OpKind.CAMPAIGN_ADD) == [onboarding("pro")]
    assert p.after.status == "active" and WINBACK not in p.after.campaigns


def test_onboarding_is_not_entered_twice():
    """pro -> free -> pro does not re-enter Pro Onboarding (re-adding would restart it in Mautic)."""
    state = state_after(signup(), change("pro"), change("free"))
    p = plan(change("pro"), state, POLICY)
    assert ops(p, OpKind.CAMPAIGN_ADD) == []
    assert ops(p, OpKind.SEGMENT_ADD) == ["tier:pro"]


def test_replayed_signup_costs_no_call():
    """Applying the same state again plans no operation at all."""
    state = state_after(signup())
    assert plan(signup(), state, POLICY).ops == ()


def test_stranger_plan_change_leaves_every_managed_segment_blindly():
    """Unknown memberships: a plan change for a user we never saw leaves all other managed segments."""
    event = change("pro", email="u1@example.com")
    p = plan(event, UserState(), POLICY)
    assert p.transition is Transition.UPGRADE  # from the first tier, absent --from
    assert sorted(ops(p, OpKind.SEGMENT_REMOVE)) == [CHURNED, "tier:enterprise", "tier:free"]
    assert p.ops[0].kind is OpKind.UPSERT


def test_from_tier_is_used_for_a_stranger():
    """--from decides the transition when the mirror knows nothing."""
    p = plan(change("pro", from_tier="enterprise", email="u1@example.com"), UserState(), POLICY)
    assert p.transition is Transition.DOWNGRADE


def test_no_email_and_no_contact_is_a_rule_error():
    """A plan change for an unknown user without any email cannot create the contact."""
    with pytest.raises(RuleError):
        plan(change("pro"), UserState(), POLICY)


def test_sync_contact_patches_only_the_given_fields():
    """sync-contact: one PATCH with exactly the given fields; memberships untouched."""
    vocab = Vocabulary(TIERS, {})
    event = build_event("sync_contact", vocab, user_id="u1", now=NOW, email="new@example.com")
    p = plan(event, state_after(signup()), POLICY)
    assert [op.kind for op in p.ops] == [OpKind.UPDATE]
    assert p.ops[0].fields == {"email": "new@example.com"}


def test_payment_adds_to_lifetime_value():
    """A payment sets lifetime_value to the running total."""
    pay = build_event("payment", VOCAB, user_id="u1", now=NOW, amount="49.5")
    state = state_after(signup())
    p1 = plan(pay, state, POLICY)
    p2 = plan(pay, p1.after, POLICY)
    assert p1.ops[0].fields == {"lifetime_value": 49.5}
    assert p2.ops[0].fields == {"lifetime_value": 99}


ALL = (*TIERS, CANCELLED)


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("target", ALL)
def test_every_transition_pair_ends_in_exactly_the_right_segments(start, target):
    """For every (from, to) pair the user ends in exactly its tier segment (+ Churned when cancelled)."""
    history = [signup("free")] if start in ("free", CANCELLED) else [signup(start)]
    if start == CANCELLED:
        history.append(change(CANCELLED))
    state = state_after(*history)
    p = plan(change(target), state, POLICY)
    final_tier = "free" if target == CANCELLED else target
    expected = {NEW_USERS, tier_segment(final_tier)} | ({CHURNED} if target == CANCELLED else set())
    assert p.after.segments == expected
    assert p.after.tier == final_tier
    assert p.after.status == ("cancelled" if target == CANCELLED else "active")
    # No campaign is ever entered twice, and the entered ones follow the transition.
    entered = ops(p, OpKind.CAMPAIGN_ADD)
    assert not set(entered) & state.campaigns
    expected_transition = {
        (True, True): Transition.UNCHANGED,
    }.get((start == CANCELLED, target == CANCELLED))
    if expected_transition:
        assert p.transition is expected_transition and p.ops == ()
    elif start == CANCELLED:
        assert p.transition is Transition.REACTIVATE and ops(p, OpKind.CAMPAIGN_REMOVE) == [WINBACK]
    elif target == CANCELLED:
        assert p.transition is Transition.CANCEL and entered == [WINBACK]
    elif TIERS.index(target) > TIERS.index(start):
        assert p.transition is Transition.UPGRADE and entered == [onboarding(target)]
    elif TIERS.index(target) < TIERS.index(start):
        assert p.transition is Transition.DOWNGRADE and entered == [RETENTION]
    else:
        assert p.transition is Transition.UNCHANGED and p.ops == ()


def test_status_carried_by_the_event_wins_over_active():
    """A plan change that carries subscription_status (e.g. past_due from billing) keeps that status."""
    event = build_event("plan_change", VOCAB, user_id="u1", tier="pro", now=NOW, fields=None)
    event = type(event)(
        **{**{f: getattr(event, f) for f in event.__slots__}, "fields": {"subscription_status": "past_due"}}
    )
    p = plan(event, state_after(signup()), POLICY)
    assert p.after.status == "past_due"
    assert p.ops[0].fields["subscription_status"] == "past_due"


def test_a_lifetime_value_that_would_lose_its_cents_is_a_rule_error():
    """Issue 9, hard case 9: payments that each fit but together pass what a number field keeps exactly
    dead-letter the event with the reason, instead of sending Mautic a number it mangles."""
    from mautic_ctl.errors import RuleError
    from mautic_ctl.events import MAX_MONEY

    pay = build_event("payment", VOCAB, user_id="u1", now=NOW, amount=MAX_MONEY)
    after_one = plan(pay, state_after(signup()), POLICY).after
    with pytest.raises(RuleError, match="lifetime_value would pass"):
        plan(pay, after_one, POLICY)
