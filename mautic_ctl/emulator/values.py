"""Turning a request value into what Mautic 5.1.0 stores for a field, or the violation it reports.

Scenarios 04 and 06 and the second pass (D1-D4, D13 of the fact sheet) settle the rules: a number field
without a scale keeps the fraction in the database but shows it truncated (D1); with a scale it is
rounded by the field's `roundmode`, toward +infinity when none is set (D2); text is trimmed (D4);
datetimes lose their seconds and offsets become UTC, unparseable dates are silently skipped, select
values outside the options and non-numeric numbers give 400, text is capped by the field's
charLengthLimit (and 191 for `text`), an email whose local part is over 64 characters is invalid (D13),
booleans go through filter_var.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

from .errors import ServerError
from .php import filter_bool, is_numeric, sanitize_email, strtotime, valid_email
from .state import Field

SKIP = object()
"""Marker: the value is silently ignored (PHP drops it before the form)."""

NOT_VALID = "This value is not valid."
TEXT_CAP = 191


def too_long(limit: int) -> str:
    return f"This value is too long. It should have {limit} characters or less."


def is_blank(value: Any) -> bool:
    """Mautic's "empty" for overwriteWithBlank purposes: null and the empty string (after trimming, D4)."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


ROUND_MODES = {
    0: ROUND_CEILING,
    1: ROUND_DOWN,
    2: ROUND_UP,
    3: ROUND_FLOOR,
    4: ROUND_HALF_EVEN,
    5: ROUND_HALF_DOWN,
    6: ROUND_HALF_UP,
}
"""Symfony's NumberToLocalizedStringTransformer modes by the number a field's `roundmode` holds; an unset
mode is 0, ROUND_CEILING, which is why 3.14159 is stored as 3.15 and -1.239 as -1.23 (D2)."""


def round_number(f: Field, raw: Any) -> int | float:
    """What the database keeps: the exact number without a scale (D1), rounded by roundmode with one (D2)."""
    number = Decimal(str(raw).strip())
    scale = f.scale
    if not scale:
        return int(number) if number == number.to_integral_value() else float(number)
    mode = f.properties.get("roundmode") if isinstance(f.properties, dict) else None
    try:
        rounding = ROUND_MODES.get(int(mode), ROUND_CEILING) if mode not in (None, "") else ROUND_CEILING
    except (TypeError, ValueError):
        rounding = ROUND_CEILING
    return float(number.quantize(Decimal(1).scaleb(-scale), rounding=rounding))


def select_values(f: Field) -> list[str]:
    options = f.properties.get("list", []) if isinstance(f.properties, dict) else []
    return [str(o.get("value")) if isinstance(o, dict) else str(o) for o in options]


def select_label(f: Field, value: Any) -> Any:
    options = f.properties.get("list", []) if isinstance(f.properties, dict) else []
    for o in options:
        if isinstance(o, dict) and str(o.get("value")) == str(value):
            return o.get("label", value)
    return value


def coerce(f: Field, raw: Any) -> tuple[Any, str | None]:
    """Return (stored value or SKIP, violation message or None) for a non-blank request value."""
    if isinstance(raw, list | dict) and f.type != "multiselect":
        raise ServerError()
    kind = f.type
    if kind == "boolean":
        flag = filter_bool(raw)
        return (SKIP, None) if flag is None else (int(flag), None)
    if kind == "number":
        if not is_numeric(raw):
            return SKIP, NOT_VALID
        try:
            return round_number(f, raw), None
        except InvalidOperation:
            return SKIP, NOT_VALID
    if kind in ("date", "datetime", "time"):
        moment = strtotime(raw)
        if moment is None:
            return SKIP, None
        fmt = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:00", "time": "%H:%M:%S"}[kind]
        return moment.strftime(fmt), None
    if kind == "multiselect":
        items = raw if isinstance(raw, list) else str(raw).split("|")
        allowed = select_values(f)
        if any(str(i) not in allowed for i in items):
            return SKIP, NOT_VALID
        return "|".join(str(i) for i in items), None
    text = _as_text(raw).strip()
    if kind == "email":
        text = sanitize_email(text)
        if not valid_email(text) or len(text.partition("@")[0]) > 64:
            return SKIP, f"{text} is invalid."
    if kind == "select" and text not in select_values(f):
        return SKIP, NOT_VALID
    limit = text_limit(f)
    if limit is not None and len(text) > limit:
        return SKIP, too_long(limit)
    return text, None


def text_limit(f: Field) -> int | None:
    """The length a value may have: charLengthLimit, and never more than 191 for `text` (O6)."""
    if f.type in ("textarea", "html", "multiselect"):
        return None
    limit = f.char_length_limit
    if f.type == "text":
        return min(limit or TEXT_CAP, TEXT_CAP)
    return limit


def _as_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "1" if raw else ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def normalized(f: Field, value: Any) -> Any:
    """`normalizedValue`: labels for booleans and selects, "" for empty, the value otherwise."""
    if value is None or value == "":
        return ""
    if f.type == "boolean":
        props = f.properties if isinstance(f.properties, dict) else {}
        truth = value if isinstance(value, bool) else str(value) == "1"
        return props.get("yes", "Yes") if truth else props.get("no", "No")
    if f.type in ("select", "multiselect"):
        return select_label(f, value)
    return value


def email_key(raw: Any) -> str | None:
    """The sanitized email a POST upsert deduplicates on (spaces and illegal characters removed)."""
    if not isinstance(raw, str):
        return None
    cleaned = sanitize_email(raw.strip())
    return cleaned or None
