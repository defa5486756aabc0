"""Field values between mautic-ctl and Mautic 5.1: what to send, and what Mautic will keep and show.

Pure functions. Mautic reshapes what it is sent (fact sheet D1-D5): text is trimmed, a number field
without a scale shows its value truncated (2.5 -> 2), one with a scale rounds toward +infinity unless the
field sets a `roundmode` (3.14159 -> 3.15), and booleans come back as `true`, `1` or `"1"` depending on
the endpoint. Sending values already in their final form makes Mautic store exactly what we meant, and
comparing in that form tells a real change from a replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_ROUND_MODES = {
    0: ROUND_CEILING,
    1: ROUND_DOWN,
    2: ROUND_UP,
    3: ROUND_FLOOR,
    4: ROUND_HALF_EVEN,
    5: ROUND_HALF_DOWN,
    6: ROUND_HALF_UP,
}
"""Symfony's rounding modes by the number a field's `roundmode` holds; unset means 0, toward +infinity (D2)."""


@dataclass(frozen=True)
class FieldFormat:
    """What a contact field does to a value: its type, and for numbers the scale and rounding mode."""

    type: str
    scale: int | None = None
    roundmode: int | None = None

    @classmethod
    def of(cls, field: Mapping[str, Any]) -> FieldFormat:
        """From a field object of GET /api/fields/contact (``scale`` comes back as a string)."""
        props = field.get("properties")
        props = props if isinstance(props, Mapping) else {}
        return cls(str(field.get("type") or "text"), _int(props.get("scale")), _int(props.get("roundmode")))


def as_bool(value: Any) -> bool | None:
    """A boolean in any form Mautic prints one (D5): true/false, 1/0, "1"/"0", "yes"/"no"; None if not one."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value) if value in (0, 1) else None
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def outgoing(fields: Mapping[str, Any], formats: Mapping[str, FieldFormat]) -> dict[str, Any]:
    """The payload to send: text trimmed, numbers rounded half-up to the field's scale (an int without one).

    Mautic would trim anyway (D4) but would truncate or round toward +infinity (D1, D2); money sent
    already rounded to cents is stored as meant.
    """
    out: dict[str, Any] = {}
    for alias, value in fields.items():
        fmt = formats.get(alias)
        if isinstance(value, str) and (fmt is None or fmt.type != "number"):
            value = value.strip()
        elif fmt is not None and fmt.type == "number" and _decimal(value) is not None:
            value = _number(_decimal(value), fmt.scale, ROUND_HALF_UP)
        out[alias] = value
    return out


def stored(value: Any, fmt: FieldFormat | None) -> Any:
    """The value as Mautic will show it once written: trimmed, truncated or rounded, booleans as bool."""
    if fmt is not None and fmt.type == "boolean":
        return as_bool(value)
    if fmt is not None and fmt.type == "number":
        number = _decimal(value)
        if number is None:
            return value
        if not fmt.scale:
            return int(number)  # D1: (int) truncates toward zero
        mode = _ROUND_MODES.get(fmt.roundmode if fmt.roundmode is not None else 0, ROUND_CEILING)
        return _number(number, fmt.scale, mode)
    return value.strip() if isinstance(value, str) else value


def same_as_stored(current: Any, wanted: Any, fmt: FieldFormat | None) -> bool:
    """Whether sending ``wanted`` (through ``outgoing``) over ``current`` (as Mautic shows it) would
    change nothing: a replayed event then needs no call."""
    sent = outgoing({"value": wanted}, {"value": fmt} if fmt is not None else {})["value"]
    mine, theirs = stored(sent, fmt), stored(current, fmt)
    if isinstance(mine, int | float) and isinstance(theirs, int | float) and not isinstance(mine, bool):
        return float(mine) == float(theirs)
    if isinstance(mine, str) and isinstance(theirs, str) and fmt is not None and fmt.type == "email":
        return mine.casefold() == theirs.casefold()
    return mine == theirs or (mine in (None, "") and theirs in (None, ""))


def field_values(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A contact's values from any answer (GET, list, batch), booleans read in every form (D5).

    Types come from the grouped entries (``fields.core.<alias>.type``); ``fields.all`` holds the values.
    """
    fields = contact.get("fields")
    fields = fields if isinstance(fields, Mapping) else {}
    types: dict[str, str] = {}
    for group, entries in fields.items():
        if group != "all" and isinstance(entries, Mapping):
            for alias, entry in entries.items():
                if isinstance(entry, Mapping):
                    types[str(alias)] = str(entry.get("type") or "")
    flat = fields.get("all")
    flat = flat if isinstance(flat, Mapping) else {}
    out: dict[str, Any] = {}
    for alias, value in flat.items():
        if alias == "id":
            continue
        out[str(alias)] = as_bool(value) if types.get(str(alias)) == "boolean" and value is not None else value
    return out


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number(number: Decimal, scale: int | None, rounding: str) -> int | float:
    if not scale:
        return int(number.quantize(Decimal(1), rounding=rounding))
    return float(number.quantize(Decimal(1).scaleb(-scale), rounding=rounding))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
