"""Pure: what a contact should hold against what it holds (reconcile), and the product's export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.config import DEFAULT_FIELDS, field_specs
from mautic_ctl.drift import Desired, Difference, compare, correction, parse_export
from mautic_ctl.errors import InputError
from mautic_ctl.events import EventKind, Vocabulary
from mautic_ctl.rules import Policy, UserState, plan

SEGMENTS = frozenset({"new_users", "tier:free", "tier:pro", "tier:enterprise", "churned"})
CAMPAIGNS = frozenset({"welcome", "onboarding:pro", "onboarding:enterprise", "retention", "winback"})
POLICY = Policy(segments=SEGMENTS, campaigns=CAMPAIGNS)
VOCAB = Vocabulary(("free", "pro", "enterprise"), field_specs({}))
PRO = Desired("u1", "a@example.com", "pro")


def live(**changes) -> UserState:
    base = dict(known=True, contact_id=7, tier="pro", status="active",
                segments=frozenset({"new_users", "tier:pro"}), campaigns=frozenset({"welcome", "onboarding:pro"}))  # fmt: skip
    return UserState(**(base | changes))


def test_no_drift_when_mautic_holds_what_it_should():
    got = compare(PRO, live(), {"subscription_tier": "Pro", "subscription_status": "active"}, POLICY)
    assert not got.drifted and got.missing_entries == ()


def test_each_kind_of_drift_is_named_with_what_mautic_has_and_should_have():
    state = live(segments=frozenset({"tier:pro", "tier:enterprise"}), campaigns=frozenset())
    got = compare(PRO, state, {"subscription_tier": "enterprise", "subscription_status": "active"}, POLICY,
                  shared_with={"u9"}, mirror_contact_id=5)  # fmt: skip
    assert set(got.differences) == {
        Difference("owner", "shared with u9", "u1 only"),
        Difference("contact", "#5 (merged or re-created)", "#7"),
        Difference("field:subscription_tier", "enterprise", "pro"),
        Difference("segment:tier:enterprise", "member", "not a member"),
    }
    assert got.missing_entries == ("welcome", "onboarding:pro")  # reported, not drift


def test_a_missing_contact_is_drift():
    got = compare(PRO, None, {}, POLICY, mirror_contact_id=3)
    assert got.drifted and got.differences[0].has == "#3 deleted"


def test_the_correction_enters_no_campaign():
    want = Desired("u1", "a@example.com", "free", "active")
    event = correction(want, datetime(2026, 1, 1, tzinfo=UTC), "r1")
    state = live(tier="enterprise", segments=frozenset({"tier:enterprise"}))  # a downgrade would enter Retention
    p = plan(event, state, POLICY)
    assert event.source == "reconcile" and event.kind is EventKind.PLAN_CHANGE
    assert not [op for op in p.ops if op.kind.value.startswith("campaign")]
    assert {op.target for op in p.ops if op.target} == {"tier:enterprise", "tier:free"}


def test_export_as_csv_and_jsonl():
    csv = b"user_id,email,tier,status,lifetime_value\nu1,a@example.com,pro,active,12\nu2,b@example.com,pro,cancelled,\n"
    got = parse_export(csv, VOCAB, "free")
    assert got[0] == Desired("u1", "a@example.com", "pro", "active", {"lifetime_value": 12})
    assert (got[1].tier, got[1].status) == ("free", "cancelled")
    jsonl = b'{"user_id": "u3", "email": "c@example.com", "tier": "cancelled"}\n'
    assert parse_export(jsonl, VOCAB, "free") == [Desired("u3", "c@example.com", "free", "cancelled")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"user_id,email\nu1,a@example.com\n", "lacks tier"),
        (b"user_id,email,tier\nu1,a@example.com,platinum\n", "line 2"),
        (b"user_id,email,tier\nu1,a@example.com,pro\nu1,a@example.com,free\n", "appears twice"),
        (b'{"user_id": "u1", "email": "nope", "tier": "pro"}\n', "record 1"),
    ],
)
def test_a_bad_export_is_refused_whole(raw, message):
    with pytest.raises(InputError, match=message):
        parse_export(raw, VOCAB, "free")


def test_default_fields_are_known_to_the_export():
    assert "lifetime_value" in DEFAULT_FIELDS
