"""Event validation: every input form (flags, `--set`, JSON, JSONL) is checked before it can be recorded."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mautic_ctl.errors import EXIT_INPUT, InputError
from mautic_ctl.events import (
    CANCELLED,
    CLOCK_TOLERANCE,
    MAX_EMAIL_LENGTH,
    MAX_INPUT_BYTES,
    MAX_MONEY,
    MAX_NUMBER,
    Event,
    EventKind,
    FieldSpec,
    FieldType,
    Vocabulary,
    build_event,
    coerce_field,
    decode_json_line,
    event_from_json,
    iter_json_records,
    parse_assignment,
    parse_datetime,
    validate_email,
    validate_event_id,
    validate_name,
    validate_source,
    validate_tier,
    validate_user_id,
)

TIERS = ("free", "pro", "enterprise")
FIELDS = {
    "subscription_tier": FieldSpec("subscription_tier"),
    "signup_date": FieldSpec("signup_date", FieldType.DATE),
    "last_login": FieldSpec("last_login", FieldType.DATETIME),
    "lifetime_value": FieldSpec("lifetime_value", FieldType.NUMBER),
    "newsletter": FieldSpec("newsletter", FieldType.BOOLEAN),
    "plan_kind": FieldSpec("plan_kind", FieldType.SELECT, choices=("monthly", "yearly")),
    "nickname": FieldSpec("nickname", FieldType.TEXT, max_length=10),
}
VOCAB = Vocabulary(TIERS, FIELDS)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TEN_MB = "a" * 10_000_000
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$")


def one_sentence(exc: pytest.ExceptionInfo[InputError]) -> str:
    """The message of a raised InputError, after checking it is one short line ending a sentence."""
    message = str(exc.value)
    assert exc.value.exit_code == EXIT_INPUT
    assert "\n" not in message and "\r" not in message
    assert message.endswith("."), message
    assert len(message) < 400, message[:100]
    return message


def build(kind: str = "sync_contact", **kw):
    kw.setdefault("user_id", "u1")
    kw.setdefault("now", NOW)
    return build_event(kind, VOCAB, **kw)


# --- email ----------------------------------------------------------------------------------------


def test_valid_email_is_trimmed_and_kept_as_written():
    """A valid email comes back without surrounding spaces and with its case intact."""
    assert validate_email("  Jane.Doe+tag@Example.COM ") == "Jane.Doe+tag@Example.COM"


@pytest.mark.parametrize(
    "bad",
    ["", "plain", "a@", "@example.com", "a@b", "a@@b.com", "a..b@example.com", ".a@example.com",
     "a@-b.com", "a@b.c", "jane doe@example.com", "jane@exa mple.com", "jane@example..com"],
)  # fmt: skip
def test_malformed_email_is_refused_with_its_value(bad):
    """An email that is not an address Mautic accepts is refused, naming the value."""
    with pytest.raises(InputError) as exc:
        validate_email(bad)
    assert one_sentence(exc) == f"{bad.strip()!r} is not a valid email address."


def test_email_over_64_characters_is_refused_naming_the_limit():
    """An otherwise valid 65-character email is refused because Mautic caps email at 64."""
    email = "a" * (MAX_EMAIL_LENGTH - len("@example.com") + 1) + "@example.com"
    assert len(email) == 65
    with pytest.raises(InputError) as exc:
        validate_email(email)
    assert one_sentence(exc) == "email is 65 characters long; Mautic accepts at most 64."


def test_email_of_exactly_64_characters_is_accepted():
    """The 64-character limit is inclusive."""
    email = "a" * (64 - len("@example.com")) + "@example.com"
    assert validate_email(email) == email


def test_huge_email_names_mauticss_real_limit():
    """A very long email is refused quickly, and the message names the 64-character limit (not a pre-check)."""
    with pytest.raises(InputError) as exc:
        validate_email("a" * 700 + "@example.com")
    assert one_sentence(exc) == "email is 712 characters long; Mautic accepts at most 64."


@pytest.mark.parametrize("bad", ["ja\x00ne@example.com", "jane@exa\tmple.com", "jane\u200b@example.com", "a\x1b@b.co"])
def test_email_with_control_characters_is_refused(bad):
    """Control and invisible format characters in an email are refused as such."""
    with pytest.raises(InputError) as exc:
        validate_email(bad)
    assert one_sentence(exc) == "email contains control characters; remove them and try again."


@pytest.mark.parametrize("bad", [42, None, ["a@b.co"], b"a@b.co"])
def test_email_that_is_not_text_is_refused(bad):
    """A JSON number, list or bytes given as email is refused with its type."""
    with pytest.raises(InputError) as exc:
        validate_email(bad)
    assert one_sentence(exc) == f"email must be text, got {type(bad).__name__}."


# --- ids, source, names, tiers --------------------------------------------------------------------


def test_user_id_accepts_numbers_and_key_characters():
    """A numeric user id becomes text; letters, digits and . _ : @ / + = - are allowed."""
    assert validate_user_id(1234) == "1234"
    assert validate_user_id(" user:42/a.b_c@d+e=f-g ") == "user:42/a.b_c@d+e=f-g"


@pytest.mark.parametrize("bad", ["", "   ", "has space", "-leading-dash", "ü-umlaut", "a;b", "x" * 192])
def test_invalid_user_id_is_refused(bad):
    """A user id that is empty, has spaces or odd characters, or is over 191 characters is refused."""
    with pytest.raises(InputError) as exc:
        validate_user_id(bad)
    message = one_sentence(exc)
    assert message.startswith("user id")
    assert "191" in message if len(bad) > 191 else "use letters, digits" in message


def test_boolean_user_id_is_not_the_user_true():
    """JSON `true` as a user id is refused instead of becoming the user "True"."""
    with pytest.raises(InputError) as exc:
        validate_user_id(True)
    assert one_sentence(exc) == "user id must be text, got bool."


def test_event_id_rules_match_user_id_with_a_255_limit():
    """An event id may be 255 characters; 256 is refused."""
    assert validate_event_id("e" * 255) == "e" * 255
    assert validate_event_id(77) == "77"
    with pytest.raises(InputError) as exc:
        validate_event_id("e" * 256)
    assert one_sentence(exc) == "event id is 256 characters long; Mautic accepts at most 255."
    with pytest.raises(InputError) as exc:
        validate_event_id("evt 1")
    assert "event id 'evt 1' is not valid" in one_sentence(exc)


@pytest.mark.parametrize("bad", ["", "a b", "x\ny", {"a": 1}, 5, "s" * 65])
def test_invalid_source_is_refused(bad):
    """The source is part of the idempotency key, so it is checked like an id."""
    with pytest.raises(InputError) as exc:
        validate_source(bad)
    assert one_sentence(exc).startswith("source")


def test_names_are_trimmed_and_blank_means_absent():
    """A name is trimmed; None or blank means no name; over 64 characters is refused."""
    assert validate_name("  Ada ", "first name") == "Ada"
    assert validate_name("   ", "first name") is None
    assert validate_name(None, "first name") is None
    with pytest.raises(InputError) as exc:
        validate_name("A" * 65, "last name")
    assert one_sentence(exc) == "last name is 65 characters long; Mautic accepts at most 64."


def test_tier_is_case_insensitive_and_cancelled_only_where_allowed():
    """Tiers match case-insensitively; `cancelled` is a tier only for plan changes."""
    assert validate_tier(" PRO ", TIERS) == "pro"
    assert validate_tier("cancelled", TIERS, allow_cancelled=True) == CANCELLED
    with pytest.raises(InputError) as exc:
        validate_tier("cancelled", TIERS)
    assert one_sentence(exc) == "unknown tier 'cancelled'; use one of: free, pro, enterprise."


@pytest.mark.parametrize("bad", ["gold", "", 3, ["pro"], None])
def test_unknown_tier_lists_the_configured_ones(bad):
    """An unknown tier is refused, listing the configured tiers."""
    with pytest.raises(InputError) as exc:
        validate_tier(bad, TIERS)
    assert one_sentence(exc).endswith("use one of: free, pro, enterprise.")


# --- dates and times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-02-01T10:20:30Z", datetime(2026, 2, 1, 10, 20, 30, tzinfo=UTC)),
        ("2026-02-01T10:20:30z", datetime(2026, 2, 1, 10, 20, 30, tzinfo=UTC)),
        ("2026-02-01T10:20:30+02:00", datetime(2026, 2, 1, 8, 20, 30, tzinfo=UTC)),
        ("2026-02-01 10:20:30", datetime(2026, 2, 1, 10, 20, 30, tzinfo=UTC)),
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1_780_000_000.5, datetime.fromtimestamp(1_780_000_000.5, tz=UTC)),
        (datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 1, 1, 17, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12), datetime(2026, 1, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_datetime_gives_aware_utc(raw, expected):
    """ISO 8601 (Z, offset or naive-as-UTC), Unix seconds and datetimes all become aware UTC."""
    got = parse_datetime(raw)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("yesterday", "is not an ISO 8601 date-time"),
        ("2026-13-01", "is not an ISO 8601 date-time"),
        ("2026-02-30T00:00:00Z", "is not an ISO 8601 date-time"),
        (-1, "is not a valid Unix timestamp"),
        (32503680000, "is not a valid Unix timestamp"),
        (float("nan"), "is not a valid Unix timestamp"),
        (float("inf"), "is not a valid Unix timestamp"),
        (10**400, "is not a valid Unix timestamp"),
        (True, "must be an ISO 8601 date-time"),
        ([2026], "must be an ISO 8601 date-time"),
        ("0001-01-01T00:00:00+01:00", "is out of range once converted to UTC"),
        ("9999-12-31T23:59:59-01:00", "is out of range once converted to UTC"),
    ],
)
def test_bad_datetimes_are_refused(raw, fragment):
    """Unparseable, impossible, out-of-range or non-finite times are refused (never OverflowError)."""
    with pytest.raises(InputError) as exc:
        parse_datetime(raw, "occurred-at")
    message = one_sentence(exc)
    assert message.startswith("occurred-at")
    assert fragment in message


# --- typed fields ---------------------------------------------------------------------------------

NUMBER = FieldSpec("score", FieldType.NUMBER)
TEXT = FieldSpec("nickname", FieldType.TEXT, max_length=10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), (42, 42), ("2.5", 2.5), (-3, -3), ("-1", -1), (1, 1), (" 7 ", 7), (1.0, 1), ("1e3", 1000)],
)
def test_number_field_accepts_numbers_outside_minus_one_to_one(raw, expected):
    """Numbers are typed (integers stay integers) when Mautic will store them."""
    got = coerce_field(NUMBER, raw)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("raw", [0, "0", 0.0, "-0", 0.5, "0.75", -0.2, "-0.999", "1e-9"])
def test_number_field_refuses_values_mautic_silently_drops(raw):
    """0 and anything strictly between -1 and 1 is refused: Mautic's API would drop it without a word."""
    with pytest.raises(InputError) as exc:
        coerce_field(NUMBER, raw)
    assert one_sentence(exc).endswith("Mautic's API silently drops values between -1 and 1.")


@pytest.mark.parametrize("raw", ["abc", "", True, False, None, [1], {"a": 1}, "nan", "inf", float("inf"), 10**400])
def test_number_field_refuses_non_numbers(raw):
    """Text, booleans, containers, NaN, infinities and unrepresentable integers are not numbers."""
    with pytest.raises(InputError) as exc:
        coerce_field(NUMBER, raw)
    assert one_sentence(exc).startswith("field 'score' needs a number, got")


def test_number_field_refuses_a_megabyte_of_digits_quickly():
    """A huge numeric text is refused by length before float() would spend a second on it."""
    with pytest.raises(InputError) as exc:
        coerce_field(NUMBER, "0." + "0" * 10_000_000 + "1")
    assert one_sentence(exc) == "field 'score' needs a number, got a text of 10000003 characters."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-02-28", "2026-02-28"),
        (" 2026-02-28 ", "2026-02-28"),
        ("2026-03-01T01:00:00+02:00", "2026-02-28"),
        ("2026-02-28T23:30:00-01:00", "2026-03-01"),
        (1_772_236_800, "2026-02-28"),
    ],
)
def test_date_field_is_y_m_d_in_utc(raw, expected):
    """Date fields are written as Y-m-d, converting a date-time with an offset to its UTC date."""
    assert coerce_field(FieldSpec("d", FieldType.DATE), raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "2026-13-01", "28/02/2026", "soon", True])
def test_date_field_refuses_impossible_or_unparseable_dates(raw):
    """A date that does not exist or cannot be read is refused (Mautic would silently ignore it)."""
    with pytest.raises(InputError) as exc:
        coerce_field(FieldSpec("d", FieldType.DATE), raw)
    assert one_sentence(exc).startswith("field 'd'")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-02-01T10:20:30+02:00", "2026-02-01 08:20:30"),
        ("2026-02-01T10:20:30Z", "2026-02-01 10:20:30"),
        ("2026-02-01T10:20:30.999+00:00", "2026-02-01 10:20:30"),
        ("2026-02-01 10:20", "2026-02-01 10:20:00"),
        ("0001-01-01T00:00:00Z", "0001-01-01 00:00:00"),
        (0, "1970-01-01 00:00:00"),
    ],
)
def test_datetime_field_is_y_m_d_h_i_s_in_utc(raw, expected):
    """Date-time fields are written as `Y-m-d H:i:s` in UTC, with a four-digit year even before 1000."""
    got = coerce_field(FieldSpec("t", FieldType.DATETIME), raw)
    assert got == expected
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", got)


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on ", True, 1])
def test_boolean_field_truthy(raw):
    """yes/true/on/1 (any case) and True are yes."""
    assert coerce_field(FieldSpec("b", FieldType.BOOLEAN), raw) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "OFF", False, 0])
def test_boolean_field_falsy(raw):
    """no/false/off/0 (any case) and False are no."""
    assert coerce_field(FieldSpec("b", FieldType.BOOLEAN), raw) is False


@pytest.mark.parametrize("raw", ["maybe", "", None, 2, [True]])
def test_boolean_field_refuses_anything_else(raw):
    """Anything that is not clearly yes or no is refused."""
    with pytest.raises(InputError) as exc:
        coerce_field(FieldSpec("b", FieldType.BOOLEAN), raw)
    assert one_sentence(exc).startswith("field 'b' needs yes/no, got")


def test_select_field_accepts_only_its_choices():
    """A select field takes one of its configured choices and lists them when refusing."""
    spec = FieldSpec("plan_kind", FieldType.SELECT, choices=("monthly", "yearly"))
    assert coerce_field(spec, " yearly ") == "yearly"
    with pytest.raises(InputError) as exc:
        coerce_field(spec, "weekly")
    assert one_sentence(exc) == "field 'plan_kind' must be one of: monthly, yearly."


def test_text_field_respects_max_length():
    """A text field takes up to its max_length characters and refuses one more."""
    assert coerce_field(TEXT, "x" * 10) == "x" * 10
    with pytest.raises(InputError) as exc:
        coerce_field(TEXT, "x" * 11)
    assert one_sentence(exc) == "field 'nickname' is 11 characters long; Mautic accepts at most 10."


def test_text_field_turns_numbers_into_text():
    """A JSON number for a text field is written as its text."""
    assert coerce_field(TEXT, 42) == "42"
    assert coerce_field(TEXT, 2.5) == "2.5"


@pytest.mark.parametrize("raw", ["0", "00", "0.0", "0.00", "-0", "+0", "-0.5", ".5", "0e3", "0.75", 0, 0.0])
def test_text_field_refuses_values_mautic_drops_as_zero(raw):
    """Text that PHP reads as a number with integer cast 0 is dropped by Mautic, so it is refused."""
    with pytest.raises(InputError) as exc:
        coerce_field(TEXT, raw)
    assert one_sentence(exc).endswith("Mautic's API silently drops zero values.")


@pytest.mark.parametrize("raw", ["1", "-1", "1.5", "0a", "o", "0x0", "zero", "1e0"])
def test_text_field_keeps_values_mautic_keeps(raw):
    """Text that is not a zero-valued number is kept as it is."""
    assert coerce_field(TEXT, raw) == raw


@pytest.mark.parametrize("raw", ["", "   "])
def test_text_field_refuses_empty(raw):
    """An empty value is refused: Mautic ignores empty values on update."""
    with pytest.raises(InputError) as exc:
        coerce_field(TEXT, raw)
    assert one_sentence(exc) == "field 'nickname' cannot be empty: Mautic ignores empty values on update."


def test_text_field_refuses_control_characters():
    """A newline or NUL inside a text value is refused."""
    with pytest.raises(InputError) as exc:
        coerce_field(TEXT, "a\nb")
    assert one_sentence(exc) == "field 'nickname' contains control characters; remove them and try again."


# --- --set ALIAS=VALUE ---------------------------------------------------------------------------


def test_assignment_is_split_at_the_first_equals_and_typed():
    """`--set alias=value` is checked against the field's type; the value may contain `=`."""
    assert parse_assignment("lifetime_value=120.5", FIELDS) == ("lifetime_value", 120.5)
    assert parse_assignment(" newsletter = yes", FIELDS) == ("newsletter", True)
    assert parse_assignment("subscription_tier=a=b", FIELDS) == ("subscription_tier", "a=b")


@pytest.mark.parametrize("bad", ["lifetime_value", "=42", "  =x", ""])
def test_malformed_assignment_is_refused(bad):
    """An assignment without `=` or without an alias is malformed."""
    with pytest.raises(InputError) as exc:
        parse_assignment(bad, FIELDS)
    assert one_sentence(exc) == f"--set {bad!r} is malformed; write it as ALIAS=VALUE."


def test_unknown_alias_is_refused_listing_configured_fields():
    """An unknown alias is refused (Mautic would silently ignore it), listing the configured fields."""
    with pytest.raises(InputError) as exc:
        parse_assignment("favourite_color=blue", FIELDS)
    message = one_sentence(exc)
    assert message.startswith("unknown field 'favourite_color'; configured fields are: last_login, lifetime_value,")
    assert "Mautic would silently ignore an unknown alias" in message


def test_assignment_that_is_not_text_is_refused():
    """A non-text --set item (e.g. from a JSON list) is an InputError, not an AttributeError."""
    with pytest.raises(InputError) as exc:
        parse_assignment(5, FIELDS)  # type: ignore[arg-type]
    assert one_sentence(exc) == "--set needs ALIAS=VALUE text, got int."


# --- build_event ----------------------------------------------------------------------------------


def test_signup_defaults_to_the_first_tier_and_generates_an_event_id():
    """A signup without a tier joins the lowest tier; without an event id one is generated per source."""
    event = build("signup", email="a@example.com")
    assert event.kind is EventKind.SIGNUP
    assert event.tier == "free"
    assert event.event_id.startswith("cli-") and len(event.event_id) == 36
    assert event.occurred_at == NOW
    assert build("signup", email="a@example.com").event_id != event.event_id


def test_signup_needs_an_email():
    """A signup without an email cannot create the contact."""
    with pytest.raises(InputError) as exc:
        build("signup", tier="pro")
    assert one_sentence(exc) == "a signup needs an email address (--email)."


def test_signup_with_unknown_tier_is_refused():
    """A signup into an unconfigured tier is refused; cancelled is not a signup tier."""
    for tier in ("gold", "cancelled"):
        with pytest.raises(InputError) as exc:
            build("signup", email="a@example.com", tier=tier)
        assert one_sentence(exc).startswith(f"unknown tier {tier!r}")


def test_plan_change_needs_a_target_and_accepts_cancelled():
    """A plan change needs --to; `cancelled` and a from-tier are accepted."""
    with pytest.raises(InputError) as exc:
        build("plan_change")
    assert one_sentence(exc) == "a plan change needs the new tier (--to)."
    event = build("plan_change", tier="Cancelled", from_tier="PRO")
    assert (event.tier, event.from_tier) == ("cancelled", "pro")


def test_sync_contact_needs_something_to_sync():
    """A sync without fields, email or name is refused."""
    with pytest.raises(InputError) as exc:
        build("sync_contact")
    assert one_sentence(exc) == "sync-contact needs at least one --set ALIAS=VALUE (or --email)."
    assert build("sync_contact", first_name="Ada").first_name == "Ada"


def test_sync_contact_fields_from_assignments_or_a_mapping_are_typed():
    """Fields given as `--set` strings or as a mapping are both checked and typed."""
    from_flags = build(
        "sync_contact", fields=["lifetime_value=12", "newsletter=no", "last_login=2026-01-01T10:00:00+01:00"]
    )
    from_json = build(
        "sync_contact", fields={"lifetime_value": "12", "newsletter": False, "last_login": "2026-01-01T09:00Z"}
    )
    expected = {"lifetime_value": 12, "newsletter": False, "last_login": "2026-01-01 09:00:00"}
    assert dict(from_flags.fields) == dict(from_json.fields) == expected


@pytest.mark.parametrize("fields", [5, "lifetime_value=12", b"x=1", 1.5])
def test_fields_of_the_wrong_shape_are_refused(fields):
    """fields must be a mapping or a list of assignments; a bare string, number or bytes is refused."""
    with pytest.raises(InputError) as exc:
        build("sync_contact", fields=fields)
    assert one_sentence(exc) == "fields must be a mapping of alias: value or a list of ALIAS=VALUE assignments."


@pytest.mark.parametrize(("amount", "expected"), [("19.999", 20.0), (0, 0.0), ("5", 5.0), (12.345, 12.35)])
def test_payment_amount_is_rounded_to_cents(amount, expected):
    """A payment's amount is a non-negative number rounded to two decimals."""
    assert build("payment", amount=amount).amount == expected


@pytest.mark.parametrize("amount", [None, -1, "ten", float("nan"), float("inf"), True, 10**400, [5], [10**5000]])
def test_payment_needs_a_non_negative_finite_amount(amount):
    """A payment without a usable amount is refused (booleans and huge integers included)."""
    with pytest.raises(InputError) as exc:
        build("payment", amount=amount)
    assert one_sentence(exc).startswith("a payment needs a non-negative amount, got")


def test_unknown_event_type_lists_the_known_ones():
    """An unknown kind lists every event type."""
    with pytest.raises(InputError) as exc:
        build("upgrade")
    assert one_sentence(exc) == (
        "unknown event type 'upgrade'; use one of: signup, plan_change, sync_contact, payment, login, "
        "email_change, unsubscribe, resubscribe, delete_user, track."
    )


def test_explicit_occurred_at_and_source_are_kept():
    """occurred_at is parsed to UTC; the source becomes part of the generated event id."""
    event = build("sync_contact", email="a@b.co", occurred_at="2026-01-01T00:00:00+01:00", source="stripe")
    assert event.occurred_at == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert event.source == "stripe" and event.event_id.startswith("stripe-")


@pytest.mark.parametrize(
    "kwarg",
    ["user_id", "event_id", "email", "tier", "from_tier", "first_name", "last_name", "occurred_at", "source", "amount"],
)
def test_a_ten_megabyte_argument_is_refused(kwarg):
    """A 10 MB value in any argument is refused with a clear message."""
    kind = "payment" if kwarg == "amount" else "plan_change"
    kw = {"tier": "pro", "amount": 1, kwarg: TEN_MB}
    with pytest.raises(InputError) as exc:
        build(kind, **kw)
    message = one_sentence(exc)
    assert "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in message


def test_a_ten_megabyte_field_value_is_refused():
    """A 10 MB `--set` value is refused by length, quickly."""
    with pytest.raises(InputError) as exc:
        build("sync_contact", fields=["subscription_tier=" + TEN_MB])
    assert one_sentence(exc) == "field 'subscription_tier' is 10000000 characters long; Mautic accepts at most 64."


# --- JSON objects ---------------------------------------------------------------------------------


def test_event_from_json_accepts_aliases_for_type_to_and_from():
    """`type` or `kind`, `plan-change` or `plan_change`, `to`/`from` or `tier`/`from_tier` all work."""
    a = event_from_json(
        {"type": "plan-change", "user_id": "u1", "to": "pro", "from": "free", "event_id": "e1"}, VOCAB, now=NOW
    )
    b = event_from_json(
        {"kind": "plan_change", "user_id": "u1", "tier": "pro", "from_tier": "free", "event_id": "e1"}, VOCAB, now=NOW
    )
    assert a == b
    assert (a.tier, a.from_tier, a.source) == ("pro", "free", "file")


def test_event_from_json_takes_the_source_from_the_caller_only():
    """The channel sets the source; a record cannot pose as another source (e.g. "stripe" with a real evt id,
    which would make the genuine Stripe delivery look like a duplicate)."""
    record = {"type": "sync_contact", "user_id": "u1", "email": "a@b.co", "event_id": "e1"}
    assert event_from_json(record, VOCAB, now=NOW, source="http").source == "http"
    with pytest.raises(InputError) as exc:
        event_from_json({**record, "source": "stripe"}, VOCAB, now=NOW)
    assert one_sentence(exc) == "unknown event key(s): source."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "each event must be a JSON object."),
        (None, "each event must be a JSON object."),
        (
            {"user_id": "u1"},
            'an event needs a "type" (signup, plan_change, sync_contact, payment, login, email_change, unsubscribe, resubscribe, delete_user, track).',
        ),
        (
            {"type": "signup", "user_id": "u1", "email": "a@b.co", "colour": 1, "plan": 2},
            "unknown event key(s): colour, plan.",
        ),
        (
            {"type": "sync_contact", "user_id": "u1", "fields": ["a=1"]},
            '"fields" must be a JSON object of alias: value.',
        ),
        ({"type": "sync_contact", "user_id": "u1", "a\nb": 1}, "unknown event key(s): a?b."),
        ({"type": "sync_contact", "user_id": None, "email": "a@b.co"}, "user id must be text, got NoneType."),
    ],
)
def test_malformed_json_events_are_refused(data, expected):
    """Non-objects, a missing type, unknown keys and bad `fields` are refused with one sentence."""
    with pytest.raises(InputError) as exc:
        event_from_json(data, VOCAB, now=NOW)
    assert one_sentence(exc) == expected


def test_unknown_key_message_stays_short_for_huge_keys():
    """A megabyte-long unknown key is shortened in the message."""
    with pytest.raises(InputError) as exc:
        event_from_json({"type": "signup", "k" * 1_000_000: 1}, VOCAB, now=NOW)
    assert one_sentence(exc).startswith("unknown event key(s): kkkk")


# --- JSON / JSONL streams -------------------------------------------------------------------------

PRETTY = b"""{
  "type": "signup",
  "user_id": "u1",
  "email": "a@example.com"
}
"""


def test_pretty_printed_single_document_is_one_record():
    """A multi-line JSON object (as webhook tools write them) is one record, not broken JSONL."""
    assert list(iter_json_records(PRETTY)) == [(1, {"type": "signup", "user_id": "u1", "email": "a@example.com"})]


def test_json_array_yields_each_element_with_its_position():
    """A JSON array yields its elements numbered from 1."""
    assert list(iter_json_records('[{"a": 1}, {"b": 2}]')) == [(1, {"a": 1}), (2, {"b": 2})]


def test_jsonl_yields_records_with_line_numbers_skipping_blank_lines():
    """A JSONL stream yields (line number, record); blank lines are skipped but counted."""
    raw = b'{"a": 1}\n\n  \n{"b": 2}\r\n{"c": 3}\n'
    assert list(iter_json_records(raw)) == [(1, {"a": 1}), (4, {"b": 2}), (5, {"c": 3})]


def test_jsonl_keeps_strings_holding_unicode_line_separators():
    """JSONL splits on newlines only; a string holding U+2028, U+2029 or U+0085 (legal in JSON) stays whole."""
    raw = '{"a": "x\u2028y"}\n{"b": "p\x85q\u2029r"}\n'
    assert list(iter_json_records(raw.encode())) == [(1, {"a": "x\u2028y"}), (2, {"b": "p\x85q\u2029r"})]


def test_malformed_jsonl_line_is_named():
    """In JSONL, the error names the line that is not valid JSON."""
    raw = b'{"a": 1}\n{"b": 2}\n{"c": }\n{"d": 4}\n'
    records = iter_json_records(raw)
    assert next(records) == (1, {"a": 1})
    with pytest.raises(InputError) as exc:
        list(records)
    assert one_sentence(exc) == "line 3 is not valid JSON (Expecting value)."


def test_malformed_pretty_printed_document_names_the_broken_line():
    """A broken multi-line document names the line where it breaks, not its opening brace."""
    raw = b'{\n  "type": "signup",\n  "user_id": "u1"\n  "email": "a@example.com"\n}\n'
    with pytest.raises(InputError) as exc:
        list(iter_json_records(raw))
    assert one_sentence(exc) == "line 4 is not valid JSON (Expecting ',' delimiter)."


def test_non_utf8_input_names_the_line():
    """Bytes that are not UTF-8 are refused, naming their line."""
    with pytest.raises(InputError) as exc:
        list(iter_json_records(b'{"a": 1}\n{"b": 2}\n{"c": "\xff\xfe"}\n'))
    assert one_sentence(exc) == "line 3 is not valid UTF-8."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "line 1 is not valid JSON (too deeply nested)."),
        ("1" * 5000, "line 1 is not valid JSON (a number has too many digits)."),
        ('{"a": 1}\n' + "1" * 5000, "line 2 is not valid JSON (a number has too many digits)."),
        ("\ufeff{}", "line 1 is not valid JSON (Unexpected UTF-8 BOM (decode using utf-8-sig))."),
    ],
    ids=["deep-nesting", "huge-int-document", "huge-int-jsonl", "bom"],
)
def test_pathological_json_is_an_input_error(raw, expected):
    """Deep nesting, integers over Python's digit limit and a BOM are InputErrors, not crashes."""
    with pytest.raises(InputError) as exc:
        list(iter_json_records(raw))
    assert one_sentence(exc) == expected


def test_a_bare_null_document_is_not_silently_skipped():
    """`null` is yielded as a record (which the caller then refuses), so no input vanishes unnoticed."""
    assert list(iter_json_records(b"null")) == [(1, None)]
    assert list(iter_json_records(b"")) == []


def test_decode_json_line_limits_size_and_encoding():
    """One record over the byte limit, or not UTF-8, is refused naming where it was."""
    with pytest.raises(InputError) as exc:
        decode_json_line(b'"' + b"a" * MAX_INPUT_BYTES + b'"', "line 9")
    assert one_sentence(exc) == f"line 9 is larger than {MAX_INPUT_BYTES} bytes."
    with pytest.raises(InputError) as exc:
        decode_json_line("x" * (MAX_INPUT_BYTES + 1), "event 2")
    assert one_sentence(exc) == f"event 2 is larger than {MAX_INPUT_BYTES} bytes."
    with pytest.raises(InputError) as exc:
        decode_json_line(b"\xc3\x28", "line 1")
    assert one_sentence(exc) == "line 1 is not valid UTF-8."
    assert decode_json_line(b'{"a": [1, 2]}', "line 1") == {"a": [1, 2]}


def test_an_oversized_jsonl_line_is_named_by_size():
    """A 10 MB JSONL line is refused for its size,."""
    with pytest.raises(InputError) as exc:
        list(iter_json_records(b'{"a": "' + b"a" * 10_000_000 + b'"}\n{}\n'))
    assert one_sentence(exc) == f"line 1 is larger than {MAX_INPUT_BYTES} bytes."


# --- round trip -----------------------------------------------------------------------------------


def test_event_round_trips_through_its_dict_and_json():
    """to_dict / to_json then from_dict gives back an equal event, with every optional part."""
    event = build(
        "plan_change", tier="pro", from_tier="free", email="a@b.co", first_name="Ada", last_name="L",
        occurred_at="2026-03-04T05:06:07.123456+02:00", source="stripe", event_id="evt_1",
        fields={"lifetime_value": 10, "newsletter": True, "signup_date": "2026-01-01"},
    )  # fmt: skip
    assert Event.from_dict(event.to_dict()) == event
    assert Event.from_dict(json.loads(event.to_json())) == event
    assert build("payment", amount="9.5").to_dict()["amount"] == 9.5
    assert "fields" not in build("signup", email="a@b.co").to_dict()


# --- properties: any input is a valid result or an InputError ------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)  # fmt: skip
anything = json_values | st.floats() | st.binary() | st.datetimes(timezones=st.none() | st.timezones())
event_keys = st.sampled_from(
    ["type", "kind", "user_id", "event_id", "occurred_at", "email", "tier", "to", "from", "from_tier",
     "first_name", "last_name", "fields", "amount", "source"]
)  # fmt: skip
plausible = (
    st.sampled_from(["u1", "a@example.com", "pro", "free", "cancelled", "2026-01-01T00:00:00Z", "12", "0", "yes", ""])
    | json_values
)
field_specs = st.sampled_from([*FIELDS.values(), NUMBER, TEXT, FieldSpec("sel", FieldType.SELECT)])
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_event(event: Event) -> None:
    assert KEY_RE.match(event.user_id) and len(event.user_id) <= 191
    assert KEY_RE.match(event.event_id) and len(event.event_id) <= 255
    assert KEY_RE.match(event.source)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.email is None or validate_email(event.email) == event.email
    assert Event.from_dict(json.loads(event.to_json())) == event
    if event.kind is EventKind.SIGNUP:
        assert event.tier in TIERS and event.email
    if event.kind is EventKind.PLAN_CHANGE:
        assert event.tier in (*TIERS, CANCELLED)
    if event.kind is EventKind.PAYMENT:
        assert event.amount is not None and event.amount >= 0


@PROPERTY
@given(
    kind=st.sampled_from([k.value for k in EventKind]) | json_values,
    kw=st.dictionaries(
        st.sampled_from(["user_id", "event_id", "occurred_at", "source", "email", "tier", "from_tier",
                         "first_name", "last_name", "fields", "amount"]),
        plausible | anything, max_size=11,
    ),
)  # fmt: skip
def test_build_event_returns_a_valid_event_or_raises_input_error(kind, kw):
    """build_event with any values in any argument yields a valid event or an InputError, nothing else."""
    kw.setdefault("user_id", "u1")
    try:
        event = build_event(kind, VOCAB, now=NOW, **kw)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        check_event(event)


@PROPERTY
@given(data=st.dictionaries(event_keys, plausible, max_size=15) | json_values)
def test_event_from_json_returns_a_valid_event_or_raises_input_error(data):
    """event_from_json of any JSON value yields a valid event or an InputError."""
    try:
        event = event_from_json(data, VOCAB, now=NOW)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        check_event(event)


@PROPERTY
@given(
    raw=st.binary() | st.text() | st.lists(json_values, max_size=5).map(lambda vs: "\n".join(json.dumps(v) for v in vs))
)
def test_iter_json_records_yields_records_or_raises_input_error(raw):
    """iter_json_records of any bytes or text yields (position, value) pairs or raises InputError."""
    try:
        records = list(iter_json_records(raw))
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        positions = [p for p, _ in records]
        assert positions == sorted(positions) and all(p >= 1 for p in positions)


@PROPERTY
@given(values=st.lists(json_values, min_size=2, max_size=6))
def test_jsonl_of_any_values_decodes_to_the_same_values(values):
    """Values written one per line come back in order, numbered by line."""
    raw = "\n".join(json.dumps(v) for v in values)
    assert list(iter_json_records(raw)) == list(enumerate(json.loads(json.dumps(values)), start=1))


@PROPERTY
@given(text=st.text() | st.builds(lambda a, v: f"{a}={v}", st.sampled_from(list(FIELDS)), st.text()) | anything)
def test_parse_assignment_returns_a_typed_field_or_raises_input_error(text):
    """parse_assignment of any value yields (configured alias, typed value) or raises InputError."""
    try:
        alias, value = parse_assignment(text, FIELDS)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert alias in FIELDS
        assert isinstance(value, str | int | float | bool)


@PROPERTY
@given(raw=anything | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.floats() | st.integers())
def test_parse_datetime_returns_aware_utc_or_raises_input_error(raw):
    """parse_datetime of any value yields an aware UTC datetime or raises InputError."""
    try:
        got = parse_datetime(raw)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert got.utcoffset() == timedelta(0)


@PROPERTY
@given(spec=field_specs, raw=anything | st.sampled_from(["0", "0.5", "-1", "1", "2026-02-29", "yes", "monthly"]))
def test_coerce_field_returns_what_mautic_keeps_or_raises_input_error(spec, raw):
    """coerce_field of any value yields a value Mautic stores as sent, or raises InputError."""
    try:
        value = coerce_field(spec, raw)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    if spec.type is FieldType.NUMBER:
        assert isinstance(value, int | float) and not isinstance(value, bool) and not -1 < value < 1
    elif spec.type is FieldType.BOOLEAN:
        assert isinstance(value, bool)
    elif spec.type is FieldType.DATE:
        assert date.fromisoformat(value).isoformat() == value
    elif spec.type is FieldType.DATETIME:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", value)
    else:
        assert isinstance(value, str) and 0 < len(value) <= spec.max_length
        assert not (spec.choices and value not in spec.choices)
        assert not re.fullmatch(r"[+-]?0*(\.0*)?", value)


@pytest.mark.parametrize("ahead", [timedelta(minutes=5, seconds=1), timedelta(days=365 * 973)])
def test_an_occurred_at_beyond_the_clock_tolerance_is_refused(ahead):
    """Issue 9, hard case 2: an event from the future would make every later event of its user stale."""
    with pytest.raises(InputError) as exc:
        build_event("signup", VOCAB, user_id="u1", email="a@b.co", now=NOW, occurred_at=(NOW + ahead).isoformat())
    assert str(exc.value).startswith(f"occurred-at {(NOW + ahead).isoformat()} is in the future")
    assert exc.value.exit_code == EXIT_INPUT


def test_an_occurred_at_within_the_clock_tolerance_is_kept():
    """A sender's clock a few minutes ahead of ours is normal skew, not an error."""
    at = NOW + CLOCK_TOLERANCE
    assert build_event("signup", VOCAB, user_id="u1", email="a@b.co", now=NOW, occurred_at=at).occurred_at == at


@pytest.mark.parametrize("raw", ["1e308", "-1e308", "9007199254740993", 1e16])
def test_a_number_beyond_what_a_mautic_number_field_keeps_is_refused(raw):
    """Issue 9, hard case 9: `--set lifetime_value=1e308` is refused before recording: a Mautic number field
    (a DOUBLE column, rounded to its scale) keeps whole numbers exactly only below 2**53."""
    with pytest.raises(InputError) as exc:
        coerce_field(FIELDS["lifetime_value"], raw)
    assert "a Mautic number field keeps" in one_sentence(exc)


def test_the_largest_exact_numbers_are_kept():
    assert coerce_field(FIELDS["lifetime_value"], str(MAX_NUMBER)) == MAX_NUMBER
    assert coerce_field(FIELDS["lifetime_value"], -MAX_NUMBER) == -MAX_NUMBER


@pytest.mark.parametrize("amount", [1e308, "1e308", MAX_MONEY + 1])
def test_a_payment_beyond_what_keeps_its_cents_is_refused(amount):
    """Two payments of 1e308 would make lifetime_value infinite: each amount is bounded where cents stay exact."""
    with pytest.raises(InputError) as exc:
        build_event("payment", VOCAB, user_id="u1", now=NOW, amount=amount)
    assert "at most" in one_sentence(exc)
    assert build_event("payment", VOCAB, user_id="u1", now=NOW, amount=MAX_MONEY).amount == MAX_MONEY
