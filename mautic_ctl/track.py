"""Product events (`track`) and the declarative `[[track]]` mappings: which event means what in Mautic.

Pure: no HTTP, no SQL, no clock. A mapping names an event, optional conditions on its properties and
an optional count ("the 10th ``report_created``"), and the actions it causes: tags added or removed,
points added, fields set, segments joined or left, a campaign entered (once, as always). The rules
turn the matching mappings into operations; the config loader validates each table with
``parse_track_rules`` so a typo is one clear configuration error, never a silent no-op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mautic_ctl.events import FieldSpec, FieldValue, coerce_field, validate_track_name

Ref = int | str

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda have, want: _same(have, want),
    "ne": lambda have, want: not _same(have, want),
    "in": lambda have, want: any(_same(have, w) for w in want),
    "not_in": lambda have, want: not any(_same(have, w) for w in want),
    "gt": lambda have, want: _order(have, want, lambda a, b: a > b),
    "gte": lambda have, want: _order(have, want, lambda a, b: a >= b),
    "lt": lambda have, want: _order(have, want, lambda a, b: a < b),
    "lte": lambda have, want: _order(have, want, lambda a, b: a <= b),
    "exists": lambda have, want: (have is not None) is bool(want),
}
"""Condition operators on one property. A bare value means ``eq``, a list means ``in``."""


@dataclass(frozen=True, slots=True)
class Condition:
    prop: str
    op: str
    value: Any

    def holds(self, properties: Mapping[str, FieldValue]) -> bool:
        have = properties.get(self.prop)
        if have is None and self.op not in ("exists", "ne", "not_in"):
            return False
        return OPERATORS[self.op](have, self.value)


@dataclass(frozen=True, slots=True)
class TrackRule:
    """One `[[track]]` table."""

    event: str
    where: tuple[Condition, ...] = ()
    count: int | None = None  # fire on exactly this occurrence of the event for the user (1-based)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    add_points: int = 0
    set_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    join_segments: tuple[Ref, ...] = ()
    leave_segments: tuple[Ref, ...] = ()
    enter_campaign: Ref | None = None

    def matches(self, name: str, properties: Mapping[str, FieldValue], occurrence: int) -> bool:
        """Whether this mapping fires for the user's ``occurrence``-th event ``name`` with ``properties``."""
        if name != self.event:
            return False
        if self.count is not None and occurrence != self.count:
            return False
        return all(c.holds(properties) for c in self.where)


def track_key(ref: Ref) -> str:
    """The logical key of a segment or campaign a mapping names (resolved to an id like the others)."""
    return f"track:{ref}"


def matching(rules: Sequence[TrackRule], name: str, properties: Mapping[str, FieldValue], occurrence: int):
    return [rule for rule in rules if rule.matches(name, properties, occurrence)]


# --- configuration ------------------------------------------------------------------------------


class TrackConfigError(ValueError):
    """A `[[track]]` table is not valid; the message names the table and the key."""


_KEYS = {
    "event", "where", "count", "add_tags", "remove_tags", "add_points", "set_fields",
    "join_segments", "leave_segments", "enter_campaign",
}  # fmt: skip


def parse_track_rules(raw: object, fields: Mapping[str, FieldSpec]) -> tuple[TrackRule, ...]:
    """Validate the `[[track]]` tables (a list of TOML tables); TrackConfigError on the first problem."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TrackConfigError("[[track]] must be a list of tables (write each mapping as [[track]]).")
    return tuple(_parse_one(i, table, fields) for i, table in enumerate(raw, start=1))


def _parse_one(index: int, table: object, fields: Mapping[str, FieldSpec]) -> TrackRule:
    where = f"[[track]] #{index}"
    if not isinstance(table, dict):
        raise TrackConfigError(f"{where} must be a table.")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise TrackConfigError(f"{where} has unknown key(s) {', '.join(unknown)}; use: {', '.join(sorted(_KEYS))}.")
    try:
        event = validate_track_name(table.get("event"))
    except Exception as exc:
        raise TrackConfigError(f"{where}: {exc}") from None
    where = f"[[track]] #{index} ({event})"
    count = table.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise TrackConfigError(f"{where}: count must be a whole number from 1 (the Nth occurrence).")
    points = table.get("add_points", 0)
    if isinstance(points, bool) or not isinstance(points, int):
        raise TrackConfigError(f"{where}: add_points must be a whole number (negative takes points away).")
    set_fields: dict[str, FieldValue] = {}
    raw_fields = table.get("set_fields", {})
    if not isinstance(raw_fields, dict):
        raise TrackConfigError(f"{where}: set_fields must be a table of alias = value.")
    for alias, value in raw_fields.items():
        if alias not in fields:
            known = ", ".join(sorted(fields))
            raise TrackConfigError(f"{where}: set_fields names unknown field {alias!r}; configured fields: {known}.")
        try:
            set_fields[alias] = coerce_field(fields[alias], value)
        except Exception as exc:
            raise TrackConfigError(f"{where}: {exc}") from None
    campaign = table.get("enter_campaign")
    if campaign is not None:
        campaign = _ref(campaign, where, "enter_campaign")
    rule = TrackRule(
        event=event,
        where=_conditions(table.get("where", {}), where),
        count=count,
        add_tags=_tags(table.get("add_tags", []), where, "add_tags"),
        remove_tags=_tags(table.get("remove_tags", []), where, "remove_tags"),
        add_points=points,
        set_fields=set_fields,
        join_segments=tuple(_ref(r, where, "join_segments") for r in _list(table.get("join_segments"), where)),
        leave_segments=tuple(_ref(r, where, "leave_segments") for r in _list(table.get("leave_segments"), where)),
        enter_campaign=campaign,
    )
    if not (rule.add_tags or rule.remove_tags or rule.add_points or rule.set_fields or rule.join_segments
            or rule.leave_segments or rule.enter_campaign is not None):  # fmt: skip
        raise TrackConfigError(f"{where} has no action; add tags, points, a field, a segment or a campaign.")
    return rule


def _conditions(raw: object, where: str) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise TrackConfigError(f"{where}: where must be a table of property = value or {{ op = value }}.")
    out = []
    for prop, spec in raw.items():
        if isinstance(spec, dict):
            for op, value in spec.items():
                if op not in OPERATORS:
                    raise TrackConfigError(f"{where}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}.")
                if op in ("in", "not_in") and not isinstance(value, list):
                    raise TrackConfigError(f"{where}: {prop}.{op} needs a list.")
                if op in ("gt", "gte", "lt", "lte") and _number(value) is None:
                    raise TrackConfigError(f"{where}: {prop}.{op} needs a number.")
                out.append(Condition(prop, op, value))
        elif isinstance(spec, list):
            out.append(Condition(prop, "in", spec))
        else:
            out.append(Condition(prop, "eq", spec))
    return tuple(out)


def _list(raw: object, where: str) -> list[object]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TrackConfigError(f"{where}: segments must be a list of ids or names.")
    return raw


def _ref(raw: object, where: str, key: str) -> Ref:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    if isinstance(raw, str) and raw.strip():
        return int(raw) if raw.strip().isdigit() else raw.strip()
    raise TrackConfigError(f"{where}: {key} needs a Mautic id or a name.")


def _tags(raw: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, str) and t.strip() for t in raw):
        raise TrackConfigError(f"{where}: {key} must be a list of tag names.")
    tags = tuple(t.strip() for t in raw)
    if any(t.startswith("-") or "," in t for t in tags):
        raise TrackConfigError(f"{where}: {key} names cannot start with '-' or contain ','.")
    return tags


# --- comparing values ---------------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _same(have: object, want: object) -> bool:
    """Equal as the product means it: `--prop n=3` (text) equals 3, "yes" equals true."""
    if isinstance(want, bool) or isinstance(have, bool):
        return _truth(have) == _truth(want) and _truth(have) is not None
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return a == b
    return str(have) == str(want)


def _truth(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text)


def _order(have: object, want: object, cmp: Callable[[float, float], bool]) -> bool:
    a, b = _number(have), _number(want)
    return a is not None and b is not None and cmp(a, b)
