"""The rest of the user lifecycle as pure rules: login, email change, consent, deletion, product events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mautic_ctl.config import DEFAULT_FIELDS
from mautic_ctl.errors import InputError, RuleError
from mautic_ctl.events import EventKind, FieldSpec, Vocabulary, build_event, event_from_json
from mautic_ctl.rules import (
    DNC_UNSUBSCRIBED,
    PERSONAL_FIELDS,
    Op,
    OpKind,
    Policy,
    Transition,
    UserState,
    plan,
    stale,
)
from mautic_ctl.track import TrackRule, parse_track_rules, track_key

SPECS = {alias: FieldSpec(alias, ftype) for alias, ftype in DEFAULT_FIELDS.items()}
VOCAB = Vocabulary(("free", "pro", "enterprise"), SPECS)
NOW = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)
KNOWN = UserState(known=True, contact_id=7, email="ada@example.com", tier="pro", status="active")


def event(kind: str, **kw):
    return build_event(kind, VOCAB, user_id="u1", now=NOW, **kw)


def only(p, kind: OpKind) -> list[Op]:
    return [op for op in p.ops if op.kind is kind]


# --- login ----------------------------------------------------------------------------------------


def test_login_sets_last_login_in_mautics_datetime_format_utc():
    """A login PATCHes only last_login, as Mautic stores datetimes (Y-m-d H:i:s, UTC)."""
    p = plan(event("login", occurred_at="2026-11-26T12:45:27+01:00"), KNOWN, Policy())
    assert p.transition is Transition.LOGIN
    assert p.ops == (Op(OpKind.UPDATE, fields={"last_login": "2026-11-26 11:45:27"}),)
    assert p.after.last_login == "2026-11-26 11:45:27"
    assert (p.after.tier, p.after.segments) == (KNOWN.tier, KNOWN.segments)  # nothing else moves


def test_login_of_a_user_without_contact_creates_it_by_email():
    """A login for a user whose contact mautic-ctl has not created yet upserts it by email."""
    p = plan(event("login", email="bo@example.com"), UserState(), Policy())
    assert p.ops == (Op(OpKind.UPSERT, fields={"last_login": "2026-11-26 12:00:05", "email": "bo@example.com"}),)


def test_login_older_than_the_last_applied_login_is_stale_but_not_older_plan_changes():
    """Logins are ordered against the last login only: a plan change applied later does not supersede them."""
    state = replace(KNOWN, last_login="2026-11-26 12:00:05")
    later_state_event = NOW + timedelta(hours=1)
    assert stale(event("login", occurred_at=NOW - timedelta(seconds=1)), state, later_state_event)
    assert not stale(event("login", occurred_at=NOW + timedelta(seconds=1)), state, later_state_event)
    assert not stale(event("login", occurred_at=NOW), UserState(), later_state_event)


# --- email change ---------------------------------------------------------------------------------


def test_email_change_patches_the_same_contact():
    """The same contact gets the new address: one PATCH of `email`, never an upsert (a second contact)."""
    p = plan(event("email_change", email="ada.new@example.com"), KNOWN, Policy())
    assert p.transition is Transition.EMAIL_CHANGE
    assert p.ops == (Op(OpKind.UPDATE, fields={"email": "ada.new@example.com"}),)
    assert p.after.email == "ada.new@example.com"


def test_email_change_without_contact_id_finds_the_contact_by_the_old_address_first():
    """Known only by its old address: upsert by the OLD email (finds the contact), then change it."""
    state = UserState(known=True, email="ada@example.com")
    p = plan(event("email_change", email="ada.new@example.com"), state, Policy())
    assert p.ops == (
        Op(OpKind.UPSERT, fields={"email": "ada@example.com"}),
        Op(OpKind.UPDATE, fields={"email": "ada.new@example.com"}),
    )


def test_email_change_to_the_same_address_costs_nothing():
    assert plan(event("email_change", email="ada@example.com"), KNOWN, Policy()).ops == ()


def test_email_change_needs_the_new_address():
    with pytest.raises(InputError, match="needs the new address"):
        event("email_change")


def test_email_change_is_a_state_event_ordered_by_the_users_clock():
    """An address change older than the last applied state event would overwrite a newer address."""
    assert stale(event("email_change", email="x@example.com", occurred_at=NOW), KNOWN, NOW + timedelta(seconds=1))


# --- consent --------------------------------------------------------------------------------------


def test_unsubscribe_adds_do_not_contact_for_email_with_reason_unsubscribed_and_comment():
    """DNC for the email channel, reason 1 ("the contact unsubscribed", fact sheet §5.7), with the comment."""
    p = plan(event("unsubscribe", comment="clicked 'no marketing' in settings"), KNOWN, Policy())
    assert p.transition is Transition.UNSUBSCRIBE
    assert p.ops == (
        Op(OpKind.DNC_ADD, "email", {"reason": DNC_UNSUBSCRIBED, "comments": "clicked 'no marketing' in settings"}),
    )
    assert (p.after.unsubscribed, p.after.consent_at) == (True, NOW)


def test_unsubscribe_without_comment_names_the_event():
    p = plan(event("unsubscribe", event_id="pref-42"), KNOWN, Policy())
    assert p.ops[0].fields["comments"] == "unsubscribed in the product (mautic-ctl event pref-42)"


def test_resubscribe_removes_the_do_not_contact_entry():
    p = plan(event("resubscribe"), replace(KNOWN, unsubscribed=True), Policy())
    assert p.transition is Transition.RESUBSCRIBE
    assert p.ops == (Op(OpKind.DNC_REMOVE, "email"),)
    assert p.after.unsubscribed is False


def test_consent_is_sent_even_when_the_mirror_already_says_so():
    """Legal weight: a repeated unsubscribe is sent again (Mautic: same reason, no change)."""
    state = replace(KNOWN, unsubscribed=True, consent_at=NOW - timedelta(days=1))
    assert only(plan(event("unsubscribe"), state, Policy()), OpKind.DNC_ADD)


def test_an_older_consent_event_never_overrides_a_newer_one():
    """Unsubscribe at 10:00 arriving after a resubscribe at 10:05: superseded, not applied."""
    state = replace(KNOWN, unsubscribed=False, consent_at=NOW)
    assert stale(event("unsubscribe", occurred_at=NOW - timedelta(minutes=5)), state, None)
    assert not stale(event("unsubscribe", occurred_at=NOW + timedelta(minutes=5)), state, None)


def test_no_plan_change_ever_touches_do_not_contact():
    """A DNC set in Mautic by the contact (unsubscribe link) is never removed by a plan change."""
    for to in ("free", "pro", "enterprise", "cancelled"):
        p = plan(event("plan_change", tier=to), replace(KNOWN, unsubscribed=True), Policy())
        assert not only(p, OpKind.DNC_REMOVE) and not only(p, OpKind.DNC_ADD)
        assert "doNotContact" not in str(p.ops)


# --- delete-user ----------------------------------------------------------------------------------


def test_delete_user_deletes_the_contact_and_forgets_everything():
    p = plan(event("delete_user"), KNOWN, Policy())
    assert p.transition is Transition.DELETE
    assert p.ops == (Op(OpKind.DELETE),)
    assert p.after == UserState()


def test_delete_user_with_on_delete_anonymise_blanks_the_personal_fields():
    """`on_delete = "anonymise"`: PATCH every personal field blank (overwriteWithBlank), keep the contact."""
    p = plan(event("delete_user"), KNOWN, Policy(on_delete="anonymise"))
    (op,) = p.ops
    assert op.kind is OpKind.ANONYMISE
    assert op.fields == {**{alias: "" for alias in PERSONAL_FIELDS}, "overwriteWithBlank": True}
    assert {"email", "firstname", "lastname"} <= set(op.fields)


def test_delete_user_known_only_by_email_looks_the_contact_up():
    p = plan(event("delete_user"), UserState(email="ada@example.com"), Policy())
    assert p.ops == (Op(OpKind.DELETE, lookup="ada@example.com"),)


def test_delete_of_a_user_never_seen_only_erases_locally():
    assert plan(event("delete_user"), UserState(), Policy()).ops == ()


def test_deletion_and_product_events_are_never_stale():
    assert not stale(event("delete_user", occurred_at=NOW), KNOWN, NOW + timedelta(days=1))
    assert not stale(event("track", name="x", occurred_at=NOW), KNOWN, NOW + timedelta(days=1))


# --- track ----------------------------------------------------------------------------------------

MILESTONE = TrackRule(event="report_created", count=10, add_tags=("power-user",), enter_campaign="Power users")
EXPORT = TrackRule(
    event="feature_used",
    where=parse_track_rules([{"event": "feature_used", "where": {"feature": "export"}, "add_points": 5}], SPECS)[
        0
    ].where,
    add_points=5,
)


def track(name: str, **props):
    return event("track", name=name, properties=props)


def test_unmapped_product_event_is_counted_but_causes_no_call():
    p = plan(track("page_viewed"), KNOWN, Policy(track=(MILESTONE,)))
    assert p.ops == () and p.transition is Transition.TRACK
    assert p.after.counts == {"page_viewed": 1}


def test_count_threshold_fires_on_exactly_the_nth_occurrence():
    """ "The 10th report_created": nothing on the 9th, tag + campaign on the 10th, nothing on the 11th."""
    policy = Policy(track=(MILESTONE,))
    ninth = plan(track("report_created"), replace(KNOWN, counts={"report_created": 8}), policy)
    tenth = plan(track("report_created"), ninth.after, policy)
    eleventh = plan(track("report_created"), tenth.after, policy)
    assert ninth.ops == () and eleventh.ops == ()
    assert tenth.ops == (
        Op(OpKind.UPDATE, fields={"tags": ["power-user"]}),
        Op(OpKind.CAMPAIGN_ADD, track_key("Power users")),
    )
    assert tenth.after.counts == {"report_created": 10}
    assert track_key("Power users") in tenth.after.campaigns


def test_enter_campaign_is_once_even_when_the_mapping_fires_again():
    rule = TrackRule(event="feature_used", enter_campaign=12)
    first = plan(track("feature_used"), KNOWN, Policy(track=(rule,)))
    second = plan(track("feature_used"), first.after, Policy(track=(rule,)))
    assert only(first, OpKind.CAMPAIGN_ADD) and not only(second, OpKind.CAMPAIGN_ADD)


def test_property_equality_condition():
    policy = Policy(track=(EXPORT,))
    assert plan(track("feature_used", feature="export"), KNOWN, policy).ops == (Op(OpKind.POINTS, fields={"delta": 5}),)
    assert plan(track("feature_used", feature="import"), KNOWN, policy).ops == ()
    assert plan(track("feature_used"), KNOWN, policy).ops == ()


@pytest.mark.parametrize(
    ("where", "props", "fires"),
    [
        ({"plan": ["pro", "enterprise"]}, {"plan": "pro"}, True),  # a list means one of
        ({"plan": ["pro", "enterprise"]}, {"plan": "free"}, False),
        ({"plan": {"ne": "free"}}, {"plan": "pro"}, True),
        ({"plan": {"ne": "free"}}, {}, True),  # absent is not "free"
        ({"plan": {"not_in": ["free"]}}, {"plan": "free"}, False),
        ({"rows": {"gte": 1000}}, {"rows": "1000"}, True),  # --prop rows=1000 is text: compared as a number
        ({"rows": {"gt": 1000}}, {"rows": 1000}, False),
        ({"rows": {"lt": 10, "gt": 1}}, {"rows": 5}, True),  # several operators: all must hold
        ({"rows": {"lte": 10}}, {"rows": "many"}, False),  # not a number: no order
        ({"beta": True}, {"beta": "yes"}, True),  # yes/no compares as a boolean
        ({"beta": True}, {"beta": "no"}, False),
        ({"seats": 3}, {"seats": "3.0"}, True),
        ({"ref": {"exists": True}}, {"ref": "x"}, True),
        ({"ref": {"exists": False}}, {"ref": "x"}, False),
        ({"ref": {"exists": False}}, {}, True),
        ({"a": 1, "b": "x"}, {"a": 1, "b": "y"}, False),  # every property condition must hold
    ],
)
def test_every_condition_operator(where, props, fires):
    (rule,) = parse_track_rules([{"event": "e", "where": where, "add_tags": ["t"]}], SPECS)
    assert bool(plan(track("e", **props), KNOWN, Policy(track=(rule,))).ops) is fires


def test_count_and_condition_together():
    """A mapping with both fires on the Nth event of that name, and only if the condition holds then."""
    (rule,) = parse_track_rules([{"event": "e", "count": 2, "where": {"k": "v"}, "add_points": 1}], SPECS)
    policy = Policy(track=(rule,))
    assert plan(track("e", k="v"), replace(KNOWN, counts={"e": 1}), policy).ops
    assert not plan(track("e", k="w"), replace(KNOWN, counts={"e": 1}), policy).ops
    assert not plan(track("e", k="v"), KNOWN, policy).ops


def test_every_action_of_a_mapping_becomes_its_operation():
    """Tags (added and removed) and fields in one batched update, segments, one campaign, points."""
    (rule,) = parse_track_rules(
        [{
            "event": "onboarding_done", "add_tags": ["activated"], "remove_tags": ["trial"], "add_points": -3,
            "set_fields": {"subscription_status": "activated"}, "join_segments": ["Activated", 4],
            "leave_segments": ["Onboarding"], "enter_campaign": "Nurture",
        }],
        SPECS,
    )  # fmt: skip
    state = replace(KNOWN, segments=frozenset({track_key("Onboarding")}))
    p = plan(track("onboarding_done"), state, Policy(track=(rule,)))
    assert p.ops == (
        Op(OpKind.UPDATE, fields={"subscription_status": "activated", "tags": ["activated", "-trial"]}),
        Op(OpKind.SEGMENT_REMOVE, track_key("Onboarding")),
        Op(OpKind.SEGMENT_ADD, track_key("Activated")),
        Op(OpKind.SEGMENT_ADD, track_key(4)),
        Op(OpKind.CAMPAIGN_ADD, track_key("Nurture")),
        Op(OpKind.POINTS, fields={"delta": -3}),
    )
    assert p.after.segments == frozenset({track_key("Activated"), track_key(4)})


def test_several_matching_mappings_merge_points_and_tags():
    rules = parse_track_rules(
        [{"event": "e", "add_points": 2, "add_tags": ["a"]}, {"event": "e", "add_points": 3, "add_tags": ["a", "b"]}],
        SPECS,
    )
    p = plan(track("e"), KNOWN, Policy(track=rules))
    assert p.ops == (Op(OpKind.UPDATE, fields={"tags": ["a", "b"]}), Op(OpKind.POINTS, fields={"delta": 5}))


def test_a_mapped_event_for_a_user_without_contact_and_email_is_a_rule_error():
    rule = TrackRule(event="e", add_points=1)
    with pytest.raises(RuleError):
        plan(track("e"), UserState(), Policy(track=(rule,)))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"add_tags": ["x"]}, "needs its name"),
        ({"event": "e"}, "has no action"),
        ({"event": "e", "add_tag": ["x"]}, "unknown key(s) add_tag"),
        ({"event": "e", "count": 0, "add_points": 1}, "count must be a whole number from 1"),
        ({"event": "e", "add_points": 1.5}, "add_points must be a whole number"),
        ({"event": "e", "set_fields": {"nickname": "x"}}, "unknown field 'nickname'"),
        ({"event": "e", "set_fields": {"last_login": "yesterday"}}, "not an ISO 8601"),
        ({"event": "e", "where": {"n": {"between": [1, 2]}}, "add_points": 1}, "unknown operator 'between'"),
        ({"event": "e", "where": {"n": {"gt": "many"}}, "add_points": 1}, "needs a number"),
        ({"event": "e", "add_tags": ["-x"]}, "cannot start with '-'"),
        ({"event": "e", "join_segments": "Activated"}, "must be a list"),
        ({"event": "e", "enter_campaign": True}, "needs a Mautic id or a name"),
    ],
)
def test_track_tables_are_validated_with_one_clear_message(table, message):
    from mautic_ctl.track import TrackConfigError

    with pytest.raises(TrackConfigError) as exc:
        parse_track_rules([table], SPECS)
    assert message in str(exc.value) and "[[track]] #1" in str(exc.value)


# --- inputs ---------------------------------------------------------------------------------------


def test_track_from_json_and_from_flags_agree():
    """`--event e --prop k=v` and {"type": "track", "event": "e", "properties": {"k": "v"}} are one event."""
    flags = build_event("track", VOCAB, user_id="u1", now=NOW, name="feature_used", properties=["feature=export"])
    doc = event_from_json(
        {"type": "track", "user_id": "u1", "event": "feature_used", "properties": {"feature": "export"}},
        VOCAB, now=NOW, source="cli",
    )  # fmt: skip
    assert (flags.kind, flags.name, dict(flags.properties)) == (doc.kind, doc.name, dict(doc.properties))
    assert flags.kind is EventKind.TRACK


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "needs its name (--event)"),
        ({"name": "has space"}, "is not valid"),
        ({"name": "e", "properties": ["novalue"]}, "is malformed"),
        ({"name": "e", "properties": {"bad key": 1}}, "property name"),
        ({"name": "e", "properties": {"n": float("nan")}}, "finite number"),
    ],
)
def test_bad_track_input_is_one_sentence(kw, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_event("track", VOCAB, user_id="u1", now=NOW, **kw)


def test_new_kinds_round_trip_through_the_queue_payload():
    """What is recorded is what the drain plans: every new field survives to_json/from_dict."""
    import json

    from mautic_ctl.events import Event

    for e in (
        event("track", name="e", properties={"k": "v", "n": 3, "b": True}),
        event("unsubscribe", comment="why"),
        event("email_change", email="n@example.com"),
        event("login"),
        event("delete_user"),
    ):
        assert Event.from_dict(json.loads(e.to_json())) == e


# --- configuration --------------------------------------------------------------------------------


def test_lifecycle_options_and_track_tables_in_the_one_loader():
    from mautic_ctl.config import normalize, track_rules

    cfg = normalize({"lifecycle": {"on_delete": "Anonymise"}, "track": [{"event": "e", "count": 2, "add_tags": ["x"]}]})
    assert (cfg["lifecycle"]["on_delete"], cfg["lifecycle"]["on_email_conflict"]) == ("anonymise", "dead")
    assert track_rules(cfg) == (TrackRule(event="e", count=2, add_tags=("x",)),)
    assert normalize(cfg) == cfg


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lifecycle": {"on_delete": "shred"}}, "'lifecycle.on_delete'"),
        ({"lifecycle": {"on_email_conflict": "merge"}}, "must be one of: dead, skip"),
        ({"track": {"event": "e"}}, "must be a list of tables"),
        ({"track": [{"event": "e", "add_points": 1, "set_fields": {"nope": 1}}]}, "unknown field 'nope'"),
    ],
)
def test_bad_lifecycle_configuration_is_one_config_error(data, message):
    from mautic_ctl.config import normalize
    from mautic_ctl.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        normalize(data)
