"""GET /api/contacts filtering: `where[]`, `search`, ordering and paging with Mautic's traps (O8).

`where` values are HTML-escaped first (so `eq` never matches `' " & < >`) while `in`/`notIn` decode
them; an unknown `expr` is dropped (the list comes back unfiltered); an unknown column or `orderBy`
is a 500. `search=email:x` is a LIKE 'x%' prefix match in which `_` and `%` are wildcards, and
`email:+x` drops the trailing `%`. Email `eq`/`in` lookups go through the email index.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from .errors import ServerError
from .php import entity_decode, is_numeric, special_chars
from .state import Contact, MauticState

Predicate = Callable[[Contact], bool]

EXPRS = frozenset(
    {
        "eq",
        "neq",
        "lt",
        "lte",
        "gt",
        "gte",
        "like",
        "notLike",
        "in",
        "notIn",
        "isNull",
        "isNotNull",
        "isEmpty",
        "isNotEmpty",
        "between",
        "notBetween",
    }
)
CATCH_ALL = ("firstname", "lastname", "email", "company", "city", "state", "zipcode", "country")


def column(state: MauticState, name: str) -> Callable[[Contact], Any]:
    """Accessor for a `where`/`orderBy` column; raises ServerError (a DB error) when unknown."""
    name = name.split(".")[-1]
    if name == "id":
        return lambda c: c.id
    if name == "points":
        return lambda c: c.points
    if name == "owner_id":
        return lambda c: c.owner_id
    if name in ("date_added", "date_modified", "date_identified"):
        return lambda c: _dt(getattr(c, name))
    if name in ("stage_id",):
        return lambda c: None
    if name == "is_published":
        return lambda c: 1
    if name in state.field_by_alias:
        return lambda c: c.get(name)
    raise ServerError()


def _dt(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (case-insensitive collation): % is any run, _ any one character."""
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def _cmp_key(value: Any) -> Any:
    if is_numeric(value):
        return (0, float(value))
    return (1, str(value).lower())


def _equal(a: Any, b: Any) -> bool:
    if a is None:
        return False
    if is_numeric(a) and is_numeric(b):
        return float(a) == float(b)
    return str(a).lower() == str(b).lower()


def where_predicates(state: MauticState, where: Any) -> tuple[list[Predicate], set[int] | None]:
    """Predicates for `where[n]`, plus candidate ids when an email eq/in clause allows an index lookup."""
    clauses = where.values() if isinstance(where, dict) else where if isinstance(where, list) else []
    preds: list[Predicate] = []
    candidates: set[int] | None = None
    for clause in clauses:
        if not isinstance(clause, dict) or clause.get("expr") not in EXPRS:
            continue
        expr = clause["expr"]
        col = str(clause.get("col", ""))
        get = column(state, col)
        raw = clause.get("val")
        if expr in ("in", "notIn"):
            text = entity_decode(",".join(raw) if isinstance(raw, list) else str(raw or ""))
            items = [v.strip() for v in text.split(",")]
            if expr == "in" and col == "email":
                ids = {i for v in items for i in state.email_index.get(v.lower(), ())}
                candidates = ids if candidates is None else candidates & ids
            preds.append(_in_pred(get, items, expr == "in"))
            continue
        val = special_chars(raw) if isinstance(raw, str) else raw
        if expr == "eq" and col == "email" and isinstance(val, str):
            ids = set(state.email_index.get(val.lower(), ()))
            candidates = ids if candidates is None else candidates & ids
        preds.append(_pred(get, expr, val))
    return preds, candidates


def _in_pred(get: Callable[[Contact], Any], items: list[str], positive: bool) -> Predicate:
    def check(c: Contact) -> bool:
        value = get(c)
        hit = any(_equal(value, item) for item in items)
        return hit if positive else (value is not None and not hit)

    return check


def _pred(get: Callable[[Contact], Any], expr: str, val: Any) -> Predicate:
    if expr == "eq":
        return lambda c: _equal(get(c), val)
    if expr == "neq":
        return lambda c: get(c) is not None and not _equal(get(c), val)
    if expr in ("lt", "lte", "gt", "gte"):
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
        }
        op = ops[expr]
        return lambda c: get(c) is not None and op(_cmp_key(get(c)), _cmp_key(val))
    if expr in ("like", "notLike"):
        rx = like_regex(str(val))
        if expr == "like":
            return lambda c: get(c) is not None and bool(rx.match(str(get(c))))
        return lambda c: get(c) is not None and not rx.match(str(get(c)))
    if expr in ("between", "notBetween"):
        low, high = (list(val.values()) if isinstance(val, dict) else [*list(val or []), None, None])[:2]

        def inside(c: Contact) -> bool:
            v = get(c)
            return v is not None and _cmp_key(low) <= _cmp_key(v) <= _cmp_key(high)

        return inside if expr == "between" else (lambda c: get(c) is not None and not inside(c))
    if expr == "isNull":
        return lambda c: get(c) is None
    if expr == "isNotNull":
        return lambda c: get(c) is not None
    if expr == "isEmpty":
        return lambda c: get(c) in (None, "")
    return lambda c: get(c) not in (None, "")


def search_predicates(state: MauticState, search: str) -> list[Predicate]:
    """Mautic search commands for contacts, combined with AND."""
    try:
        tokens = shlex.split(search, posix=True)
    except ValueError:
        tokens = search.split()
    preds: list[Predicate] = []
    for token in tokens:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", token)
        if not match:
            preds.append(_catch_all(token))
            continue
        cmd, value = match.group(1), match.group(2).strip('"')
        strict = value.startswith("+")
        if strict:
            value = value[1:]
        preds.append(_command(state, cmd, value, strict, token))
    return preds


def _catch_all(term: str) -> Predicate:
    rx = like_regex(f"%{term}%")
    return lambda c: any(c.get(a) is not None and rx.match(str(c.get(a))) for a in CATCH_ALL)


def _command(state: MauticState, cmd: str, value: str, strict: bool, token: str) -> Predicate:
    rx = like_regex(value if strict else f"{value}%")
    if cmd == "email" or (cmd in state.field_by_alias and cmd != "points"):
        alias = cmd
        return lambda c: c.get(alias) is not None and bool(rx.match(str(c.get(alias))))
    if cmd == "name":
        return lambda c: any(c.get(a) is not None and rx.match(str(c.get(a))) for a in ("firstname", "lastname"))
    if cmd in ("segment", "list"):
        segment = state.segment_by_alias(value)
        members = state.segment_contact_ids(segment.id) if segment else set()
        return lambda c: c.id in members
    if cmd == "ids":
        ids = {int(v) for v in value.split(",") if v.strip().isdigit()}
        return lambda c: c.id in ids
    if cmd == "tag":
        tid = state.tags.get(value)
        return lambda c: tid is not None and tid in c.tag_ids
    if cmd == "is":
        if value == "anonymous":
            return lambda c: c.date_identified is None
        if value == "unowned":
            return lambda c: c.owner_id is None
        return lambda c: True
    return _catch_all(token)


def run_query(state: MauticState, params: dict[str, Any]) -> tuple[int, list[Contact]]:
    """Filter, order and page the contacts; returns (total, page)."""
    preds, candidates = where_predicates(state, params.get("where"))
    search = params.get("search")
    if isinstance(search, str) and search.strip():
        preds.extend(search_predicates(state, search))
    pool: Iterable[Contact]
    if candidates is not None:
        pool = [state.contacts[i] for i in sorted(candidates) if i in state.contacts]
    else:
        pool = state.contacts.values()
    matched = [c for c in pool if all(p(c) for p in preds)]
    order_by = params.get("orderBy")
    descending = str(params.get("orderByDir", "ASC")).upper() == "DESC"
    if order_by:
        get = column(state, str(order_by))
        matched.sort(key=lambda c: (get(c) is not None, _cmp_key(get(c)) if get(c) is not None else (0, 0)))
        if descending:
            matched.reverse()
    elif candidates is None:
        matched.sort(key=lambda c: c.id)
    return len(matched), page(matched, params)


def page(items: list[Any], params: dict[str, Any], default_limit: int = 30) -> list[Any]:
    """`start`/`limit` paging; limit=0 returns everything from `start`."""
    start = _int(params.get("start"), 0)
    limit = _int(params.get("limit"), default_limit)
    if limit <= 0:
        return items[start:]
    return items[start : start + limit]


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default
