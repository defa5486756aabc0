"""Lifecycle events and the validation of every input form (flags, JSON, JSONL).

Pure and cheap to import: plain dataclasses and the standard library only, because the commands
that merely record an event must start fast (no pydantic, no HTTP stack). Knows nothing of HTTP or SQL.
Every value is checked here, before it can reach the queue or Mautic.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from mautic_ctl.errors import InputError

CANCELLED = "cancelled"
"""The pseudo-tier of `plan-change --to cancelled`."""

MAX_EMAIL_LENGTH = 64  # Mautic 5.1 gives every stock field, email included, a 64-character limit
MAX_TEXT_LENGTH = 64  # default charLengthLimit of text fields on Mautic 5.1+
CLOCK_TOLERANCE = timedelta(minutes=5)
"""How far ahead of this machine's clock an event may say it happened (clock skew between hosts).
Beyond that it is refused: an event from the future would make every later event of its user stale."""
MAX_USER_ID_LENGTH = 191
MAX_EVENT_ID_LENGTH = 255
MAX_NUMBER_TEXT = 1000  # characters: no number anyone means is longer
MAX_NUMBER = 2**53 - 1
"""The largest magnitude a Mautic number field keeps exactly. Its column is a DOUBLE and the API casts
values to int or float (fact sheet §5, O12, D1/D2), so whole numbers are exact only below 2**53;
anything beyond (1e308, say) is mangled or refused by Mautic after the event was accepted."""
MAX_MONEY = float(MAX_NUMBER // 100)
"""The largest payment amount, and lifetime value, whose cents a number field keeps (a 2-decimal scale)."""
MAX_INPUT_BYTES = 1_000_000  # one event larger than this is not a lifecycle event

FieldValue = str | int | float | bool | None


class EventKind(StrEnum):
    """What happened to the user."""

    SIGNUP = "signup"  # a new user, into a tier
    PLAN_CHANGE = "plan_change"  # upgrade, downgrade, cancellation or reactivation
    SYNC_CONTACT = "sync_contact"  # field updates only
    PAYMENT = "payment"  # money received: adds to lifetime_value
    LOGIN = "login"  # the user logged in: sets last_login (coalesced per user in a drain round)
    EMAIL_CHANGE = "email_change"  # the user changed their address: the same contact gets it
    UNSUBSCRIBE = "unsubscribe"  # marketing consent withdrawn: Do Not Contact for email
    RESUBSCRIBE = "resubscribe"  # marketing consent given again: the Do Not Contact entry removed
    DELETE_USER = "delete_user"  # account deletion / erasure: contact deleted or anonymised, local data erased
    TRACK = "track"  # a product event (feature used, milestone): mapped by [[track]] to Mautic actions


CONSENT_KINDS = frozenset({EventKind.UNSUBSCRIBE, EventKind.RESUBSCRIBE})
"""Applied ahead of the user's other queued events once the contact exists (consent first)."""


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    SELECT = "select"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A Mautic contact field mautic-ctl may write, with what Mautic will accept for it."""

    alias: str
    type: FieldType = FieldType.TEXT
    max_length: int = MAX_TEXT_LENGTH
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One lifecycle event, as recorded in the queue and planned by the rules."""

    kind: EventKind
    user_id: str
    event_id: str
    occurred_at: datetime
    source: str = "cli"
    email: str | None = None
    tier: str | None = None  # signup: the tier; plan_change: the target tier or "cancelled"
    from_tier: str | None = None  # plan_change: what the sender believes the old tier was
    first_name: str | None = None
    last_name: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    amount: float | None = None  # payment: amount added to lifetime_value
    name: str | None = None  # track: the product event's name
    properties: Mapping[str, FieldValue] = field(default_factory=dict)  # track: its properties
    comment: str | None = None  # unsubscribe / resubscribe: why (kept with the Do Not Contact entry)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "user_id": self.user_id,
            "event_id": self.event_id,
            "occurred_at": self.occurred_at.isoformat(),
            "source": self.source,
        }
        for name in ("email", "tier", "from_tier", "first_name", "last_name", "amount", "name", "comment"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.fields:
            out["fields"] = dict(self.fields)
        if self.properties:
            out["properties"] = dict(self.properties)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Rebuild an event the store recorded (already validated when it was recorded)."""
        return cls(
            kind=EventKind(data["kind"]),
            user_id=data["user_id"],
            event_id=data["event_id"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            source=data.get("source", "cli"),
            email=data.get("email"),
            tier=data.get("tier"),
            from_tier=data.get("from_tier"),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            fields=dict(data.get("fields") or {}),
            amount=data.get("amount"),
            name=data.get("name"),
            properties=dict(data.get("properties") or {}),
            comment=data.get("comment"),
        )

    def with_source(self, source: str) -> Event:
        return replace(self, source=source)


# --- scalar validators -------------------------------------------------------------------------

# Deliberately stricter than RFC 5322: what Mautic's validator accepts and a mail server delivers.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]{0,24}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$")


def _clean_text(value: object, what: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}.")
    text = value.strip()
    # Length first: scanning a 10 MB argument character by character only to refuse it takes seconds.
    if len(text) > max_length:
        raise InputError(f"{what} is {len(text)} characters long; Mautic accepts at most {max_length}.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text):
        raise InputError(f"{what} contains control characters; remove them and try again.")
    return text


def validate_email(value: object) -> str:
    """Return the email trimmed; reject what Mautic would refuse or silently rewrite."""
    if isinstance(value, str) and len(value.strip()) > 10 * MAX_EMAIL_LENGTH:
        raise InputError(f"email is {len(value.strip())} characters long; Mautic accepts at most {MAX_EMAIL_LENGTH}.")
    text = _clean_text(value, "email", 10 * MAX_EMAIL_LENGTH)
    if not text or not _EMAIL_RE.match(text):
        raise InputError(f"{_shorten(text)!r} is not a valid email address.")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InputError(f"email is {len(text)} characters long; Mautic accepts at most {MAX_EMAIL_LENGTH}.")
    return text


def validate_user_id(value: object) -> str:
    text = _clean_text(_int_as_text(value), "user id", MAX_USER_ID_LENGTH)
    if not text or not _KEY_RE.match(text):
        raise InputError(f"user id {_shorten(text)!r} is not valid; use letters, digits and . _ : @ / + = - only.")
    return text


def validate_event_id(value: object) -> str:
    text = _clean_text(_int_as_text(value), "event id", MAX_EVENT_ID_LENGTH)
    if not text or not _KEY_RE.match(text):
        raise InputError(f"event id {_shorten(text)!r} is not valid; use letters, digits and . _ : @ / + = - only.")
    return text


def validate_source(value: object) -> str:
    """The name of where events come from (cli, file, stripe …): part of the idempotency key."""
    text = _clean_text(value, "source", 64)
    if not text or not _KEY_RE.match(text):
        raise InputError(f"source {_shorten(text)!r} is not valid; use letters, digits and . _ : @ / + = - only.")
    return text


def validate_tier(value: object, tiers: Iterable[str], *, allow_cancelled: bool = False) -> str:
    allowed = list(tiers) + ([CANCELLED] if allow_cancelled else [])
    text = _clean_text(value, "tier", 64).lower() if isinstance(value, str) else value
    if text not in allowed:
        raise InputError(f"unknown tier {_shorten(str(value))!r}; use one of: {', '.join(allowed)}.")
    return str(text)


def validate_name(value: object, what: str) -> str | None:
    if value is None:
        return None
    text = _clean_text(value, what, MAX_TEXT_LENGTH)
    return text or None


def _not_future(at: datetime, now: datetime, tolerance: timedelta | None) -> datetime:
    if tolerance is not None and at > now + tolerance:
        raise InputError(
            f"occurred-at {at.isoformat()} is in the future (more than {tolerance.seconds // 60} minutes "
            "ahead of this machine's clock); give the time the event happened, with its UTC offset."
        )
    return at


def parse_datetime(value: object, what: str = "occurred-at") -> datetime:
    """ISO 8601 (or a Unix timestamp) to an aware UTC datetime; naive input is taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # Compare before any float(): an int beyond float range would raise OverflowError.
        if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value < 32503680000:
            raise InputError(f"{what} {_show(value)!r} is not a valid Unix timestamp.")
        parsed = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str):
        text = _clean_text(value, what, 64)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(
                f"{what} {_shorten(text)!r} is not an ISO 8601 date-time (e.g. 2026-11-26T10:00:00Z)."
            ) from None
    else:
        raise InputError(f"{what} must be an ISO 8601 date-time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise InputError(f"{what} {_shorten(parsed.isoformat())!r} is out of range once converted to UTC.") from None


def coerce_field(spec: FieldSpec, raw: object) -> FieldValue:
    """Type and format a value the way Mautic stores it, or raise InputError.

    Mautic drops 0 and values between -1 and 1 on POST/PATCH without a word (fact sheet §5.4), so
    such numbers are refused here instead of being silently lost.
    """
    what = f"field {spec.alias!r}"
    if spec.type is FieldType.NUMBER:
        if isinstance(raw, str) and len(raw) > MAX_NUMBER_TEXT:  # float() of megabytes of digits is slow
            raise InputError(f"{what} needs a number, got a text of {len(raw)} characters.")
        try:
            number = float(raw) if not isinstance(raw, bool) else math.nan  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        if not math.isfinite(number):
            raise InputError(f"{what} needs a number, got {_show(raw)!r}.")
        if abs(number) > MAX_NUMBER:
            raise InputError(
                f"{what} cannot hold {_shorten(_show(raw))!r}: a Mautic number field keeps numbers "
                f"between -{MAX_NUMBER} and {MAX_NUMBER} exactly."
            )
        if -1 < number < 1:
            raise InputError(
                f"{what} cannot be set to {_show(raw)!r}: Mautic's API silently drops values between -1 and 1."
            )
        return int(number) if number.is_integer() else number
    if spec.type is FieldType.BOOLEAN:
        truthy = {"1", "true", "yes", "on"}
        falsy = {"0", "false", "no", "off"}
        text = (raw if isinstance(raw, str) else _show(raw)).strip().lower()
        if text in truthy or raw is True:
            return True
        if text in falsy or raw is False:
            return False
        raise InputError(f"{what} needs yes/no, got {_show(raw)!r}.")
    if spec.type is FieldType.DATE:
        if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            try:
                return date.fromisoformat(raw.strip()).isoformat()
            except ValueError:
                raise InputError(f"{what} {raw!r} is not a real date.") from None
        return parse_datetime(raw, what).date().isoformat()
    if spec.type is FieldType.DATETIME:
        return parse_datetime(raw, what).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(raw, int | float) and not (isinstance(raw, int) and raw.bit_length() > 4096):
        raw = str(raw)
    text = _clean_text(raw, what, spec.max_length)
    if not text:
        raise InputError(f"{what} cannot be empty: Mautic ignores empty values on update.")
    if spec.type is FieldType.SELECT and spec.choices and text not in spec.choices:
        raise InputError(f"{what} must be one of: {', '.join(spec.choices)}.")
    if _PHP_NUMERIC_RE.match(text) and -1 < float(text) < 1:
        # Mautic removes any numeric value whose integer cast is 0 ("0", "0.00", "-0.5", ".5", "0e3").
        raise InputError(f"{what} cannot be set to {text!r}: Mautic's API silently drops zero values.")
    return text


# PHP's is_numeric() for what Mautic's zero-drop rule looks at (ASCII digits only).
_PHP_NUMERIC_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def parse_assignment(text: str, specs: Mapping[str, FieldSpec]) -> tuple[str, FieldValue]:
    """``ALIAS=VALUE`` from `--set`, checked against the configured fields."""
    if not isinstance(text, str):
        raise InputError(f"--set needs ALIAS=VALUE text, got {type(text).__name__}.")
    alias, sep, raw = text.partition("=")
    alias = alias.strip()
    if not sep or not alias:
        raise InputError(f"--set {_shorten(text)!r} is malformed; write it as ALIAS=VALUE.")
    return check_field(alias, raw, specs)


def check_field(alias: str, raw: object, specs: Mapping[str, FieldSpec]) -> tuple[str, FieldValue]:
    if alias not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise InputError(
            f"unknown field {_shorten(alias)!r}; configured fields are: {known} "
            "(Mautic would silently ignore an unknown alias)."
        )
    return alias, coerce_field(specs[alias], raw)


def new_event_id(prefix: str = "cli") -> str:
    # 128 random bits, like uuid4().hex; `uuid` itself is not imported (it pulls in `platform`: start-up)
    return f"{prefix}-{os.urandom(16).hex()}"


# --- whole events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What input is checked against: the configured tiers and writable fields."""

    tiers: tuple[str, ...]
    fields: Mapping[str, FieldSpec]


def build_event(
    kind: EventKind | str,
    vocab: Vocabulary,
    *,
    user_id: object,
    now: datetime,
    event_id: object = None,
    occurred_at: object = None,
    source: str = "cli",
    email: object = None,
    tier: object = None,
    from_tier: object = None,
    first_name: object = None,
    last_name: object = None,
    fields: Mapping[str, object] | Iterable[str] | None = None,
    amount: object = None,
    future_tolerance: timedelta | None = CLOCK_TOLERANCE,
    name: object = None,
    properties: Mapping[str, object] | Iterable[str] | None = None,
    comment: object = None,
) -> Event:
    """Validate every part of an event; raises InputError with one clear sentence.

    ``future_tolerance``: how far ahead of ``now`` the sender's ``occurred_at`` may be (its clock's
    skew); None for a provider's signed timestamp, whose stream is ordered by the provider's clock.
    """
    try:
        kind = EventKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in EventKind)
        raise InputError(f"unknown event type {_shorten(str(kind))!r}; use one of: {kinds}.") from None
    checked_fields: dict[str, FieldValue] = {}
    if isinstance(fields, Mapping):
        for alias, raw in fields.items():
            key, value = check_field(str(alias), raw, vocab.fields)
            checked_fields[key] = value
    elif fields is not None:
        if isinstance(fields, str | bytes) or not isinstance(fields, Iterable):
            raise InputError("fields must be a mapping of alias: value or a list of ALIAS=VALUE assignments.")
        for assignment in fields:
            key, value = parse_assignment(assignment, vocab.fields)
            checked_fields[key] = value
    event = Event(
        kind=kind,
        user_id=validate_user_id(user_id),
        event_id=validate_event_id(event_id) if event_id is not None else new_event_id(validate_source(source)),
        occurred_at=_not_future(parse_datetime(occurred_at), now, future_tolerance)
        if occurred_at is not None
        else now.astimezone(UTC),
        source=validate_source(source),
        email=validate_email(email) if email is not None else None,
        first_name=validate_name(first_name, "first name"),
        last_name=validate_name(last_name, "last name"),
        fields=checked_fields,
    )
    if kind is EventKind.SIGNUP:
        if event.email is None:
            raise InputError("a signup needs an email address (--email).")
        event = replace(event, tier=validate_tier(tier if tier is not None else vocab.tiers[0], vocab.tiers))
    elif kind is EventKind.PLAN_CHANGE:
        if tier is None:
            raise InputError("a plan change needs the new tier (--to).")
        event = replace(
            event,
            tier=validate_tier(tier, vocab.tiers, allow_cancelled=True),
            from_tier=validate_tier(from_tier, vocab.tiers, allow_cancelled=True) if from_tier else None,
        )
    elif kind is EventKind.SYNC_CONTACT:
        if not checked_fields and event.email is None and not (event.first_name or event.last_name):
            raise InputError("sync-contact needs at least one --set ALIAS=VALUE (or --email).")
    elif kind is EventKind.PAYMENT:
        try:
            usable = not isinstance(amount, bool) and not (isinstance(amount, str) and len(amount) > MAX_NUMBER_TEXT)
            value = float(amount) if usable else math.nan  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise InputError(f"a payment needs a non-negative amount, got {_show(amount)!r}.")
        if value > MAX_MONEY:
            raise InputError(
                f"a payment amount must be at most {MAX_MONEY:.0f} (what a Mautic number field keeps to the "
                f"cent), got {_shorten(_show(amount))!r}."
            )
        event = replace(event, amount=round(value, 2))
    elif kind is EventKind.EMAIL_CHANGE:
        if event.email is None:
            raise InputError("an email change needs the new address (--email).")
    elif kind in CONSENT_KINDS:
        event = replace(event, comment=validate_name(comment, "comment"))
    elif kind is EventKind.TRACK:
        event = replace(event, name=validate_track_name(name), properties=parse_properties(properties))
    return event


_TRACK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
MAX_PROPERTIES = 50


def validate_track_name(value: object) -> str:
    """A product event's name (``feature_used``, ``report_created``): what `[[track]]` mappings match."""
    if value is None:
        raise InputError("a product event needs its name (--event).")
    text = _clean_text(value, "event name", MAX_TEXT_LENGTH)
    if not text or not _TRACK_NAME_RE.match(text):
        raise InputError(f"event name {_shorten(text)!r} is not valid; use letters, digits and . _ : - only.")
    return text


def parse_properties(raw: Mapping[str, object] | Iterable[str] | None) -> dict[str, FieldValue]:
    """A product event's properties: ``{"feature": "export"}`` or `--prop KEY=VALUE` assignments.

    Values stay scalars (text, number, yes/no): they are only compared by `[[track]]` conditions.
    """
    if raw is None:
        return {}
    pairs: list[tuple[object, object]]
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise InputError("properties must be a JSON object of name: value or a list of KEY=VALUE assignments.")
    else:
        pairs = []
        for assignment in raw:
            key, sep, value = str(assignment).partition("=")
            if not sep or not key.strip():
                raise InputError(f"--prop {_shorten(str(assignment))!r} is malformed; write it as KEY=VALUE.")
            pairs.append((key.strip(), value))
    if len(pairs) > MAX_PROPERTIES:
        raise InputError(f"a product event has at most {MAX_PROPERTIES} properties, got {len(pairs)}.")
    out: dict[str, FieldValue] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not _TRACK_NAME_RE.match(key) or len(key) > MAX_TEXT_LENGTH:
            raise InputError(f"property name {_shorten(str(key))!r} is not valid; use letters, digits and . _ : -.")
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, int | float):
            if not (isinstance(value, int) and value.bit_length() < 64) and not (
                isinstance(value, float) and math.isfinite(value)
            ):
                raise InputError(f"property {key!r} must be a finite number.")
            out[key] = value
        else:
            out[key] = _clean_text(value, f"property {key!r}", MAX_EVENT_ID_LENGTH)
    return out


_EVENT_KEYS = {
    "type", "kind", "user_id", "event_id", "occurred_at", "email", "tier", "to", "from", "from_tier",
    "first_name", "last_name", "fields", "amount", "event", "name", "properties", "comment",
}  # fmt: skip


def event_from_json(data: object, vocab: Vocabulary, *, now: datetime, source: str = "file") -> Event:
    """One event from a decoded JSON object, e.g. ``{"type":"plan_change","user_id":"u1","to":"pro"}``."""
    if not isinstance(data, dict):
        raise InputError("each event must be a JSON object.")
    unknown = set(data) - _EVENT_KEYS
    if unknown:
        names = ", ".join(_shorten(str(k), 40) for k in sorted(map(str, unknown))[:10])
        raise InputError(f"unknown event key(s): {names}.")
    kind = data.get("type", data.get("kind"))
    if kind is None:
        raise InputError(f'an event needs a "type" ({", ".join(k.value for k in EventKind)}).')
    kind = str(kind).replace("-", "_")
    fields = data.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise InputError('"fields" must be a JSON object of alias: value.')
    properties = data.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise InputError('"properties" must be a JSON object of name: value.')
    return build_event(
        kind,
        vocab,
        user_id=data.get("user_id"),
        now=now,
        event_id=data.get("event_id"),
        occurred_at=data.get("occurred_at"),
        source=source,  # the channel decides: a record must not pose as, say, a Stripe delivery
        email=data.get("email"),
        tier=data.get("tier", data.get("to")),
        from_tier=data.get("from_tier", data.get("from")),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        fields=fields,
        amount=data.get("amount"),
        name=data.get("event", data.get("name")),
        properties=properties,
        comment=data.get("comment"),
    )


def decode_json_line(raw: bytes | str, where: str) -> object:
    if isinstance(raw, bytes):
        if len(raw) > MAX_INPUT_BYTES:
            raise InputError(f"{where} is larger than {MAX_INPUT_BYTES} bytes.")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{where} is not valid UTF-8.") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{where} is larger than {MAX_INPUT_BYTES} bytes.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer of over 4300 digits
        raise InputError(f"{where} is not valid JSON ({_json_problem(exc)}).") from None


def _json_problem(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "too deeply nested"
    return "a number has too many digits"


def iter_json_records(raw: bytes | str) -> Iterator[tuple[int, object]]:
    """Decode one JSON document (an object or an array of them) or a JSONL stream.

    Yields (position, value): the array index or the JSONL line number, so errors can point at it.
    A pretty-printed single payload (as webhook tools write them) is one document, not JSONL.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(f"line {line} is not valid UTF-8.") from None
    try:
        whole = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        whole_error: BaseException = exc
    else:
        if isinstance(whole, list):
            yield from enumerate(whole, start=1)
        else:
            yield 1, whole  # even a bare `null`: the caller says it is not an event, nothing is skipped
        return
    # JSONL: records are separated by "\n" only. str.splitlines() would also split inside a string
    # holding U+2028, U+2029 or U+0085, which JSON allows unescaped.
    first = True
    for number, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = decode_json_line(line, f"line {number}")
        except InputError:
            # A first line that is not JSON on its own means one multi-line document, not JSONL:
            # point at where that document breaks, not at its opening brace.
            pretty = isinstance(whole_error, json.JSONDecodeError) and whole_error.lineno > number
            if first and pretty and len(line) <= MAX_INPUT_BYTES:
                raise InputError(f"line {whole_error.lineno} is not valid JSON ({whole_error.msg}).") from None
            raise
        first = False
        yield number, value


def _int_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() < 4096 else value


def _show(value: object) -> str:
    """A value as short, printable, one-line text for a message (never raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4096:
        return "a number of over 1000 digits"
    try:
        return _shorten(value if isinstance(value, str) else str(value))
    except ValueError:  # str() of a container holding an integer too long to print
        return f"a {type(value).__name__}"


def _shorten(text: str, limit: int = 60) -> str:
    if len(text) > limit:  # cut first: never walk a 10 MB value character by character
        text = text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in text)
