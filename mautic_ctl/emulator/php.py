"""The few PHP behaviours Mautic's answers depend on: serialize(), parse_str(), truthiness,
is_numeric(), filter_var() flags and a strtotime() subset.

Mautic leaks these into its API (PHP-serialized field properties, `minimal=false` meaning true, `where`
values HTML-escaped by FILTER_SANITIZE_SPECIAL_CHARS), so the emulator reproduces them here, once.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any


def php_serialize(value: Any) -> str:
    """PHP's serialize() for the JSON-like values field properties hold."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    items = list(enumerate(value)) if isinstance(value, list) else list(value.items())
    body = "".join(php_serialize(k) + php_serialize(v) for k, v in items)
    return f"a:{len(items)}:{{{body}}}"


_KEY = re.compile(r"^([^\[]*)((?:\[[^\]]*\])*)$")


def parse_str(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP parse_str(): `where[0][col]=x` and `ids[]=1` become nested dicts (lists for `[]`)."""
    out: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match or not match.group(1):
            out[raw_key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if part == "" or not part.isdigit():
                    node.append(value if last else {})
                    node = node[-1]
                    continue
                node = _dict_from_list(node)
            if part == "" and isinstance(node, dict):
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = parts[i + 1]
                if part not in node or not isinstance(node[part], dict | list):
                    node[part] = [] if nxt == "" else {}
                node = node[part]
    return out


def _dict_from_list(items: list[Any]) -> dict[str, Any]:
    return {str(i): v for i, v in enumerate(items)}


def truthy(value: Any) -> bool:
    """PHP truthiness of a request parameter: absent, "", "0", 0, [] and false are false."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | dict):
        return bool(value)
    return True


_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def is_numeric(value: Any) -> bool:
    """PHP is_numeric(): ints, floats and numeric strings, never bools."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMERIC.match(value))


def filter_bool(value: Any) -> bool | None:
    """filter_var($v, FILTER_VALIDATE_BOOLEAN, FILTER_NULL_ON_FAILURE)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1 if value in (0, 1) else None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("1", "true", "on", "yes"):
            return True
        if low in ("0", "false", "off", "no", ""):
            return False
    return None


_EMAIL_ALLOWED = re.compile(r"[^A-Za-z0-9!#$%&'*+\-=?^_`{|}~@.\[\]]")
_EMAIL_VALID = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)


def sanitize_email(value: str) -> str:
    """FILTER_SANITIZE_EMAIL: drop every character an address may not hold (spaces included)."""
    return _EMAIL_ALLOWED.sub("", value)


def valid_email(value: str) -> bool:
    """Mautic's email check: a local part, an @ and a dotted domain with a TLD."""
    return bool(_EMAIL_VALID.match(value))


def special_chars(value: str) -> str:
    """FILTER_SANITIZE_SPECIAL_CHARS: `'"<>&` and control characters become numeric entities."""
    return "".join(f"&#{ord(c)};" if c in "'\"<>&" or ord(c) < 32 else c for c in value)


def entity_decode(value: str) -> str:
    """html_entity_decode()."""
    return html.unescape(value)


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%H:%M:%S",
    "%H:%M",
)
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def strtotime(value: Any) -> datetime | None:
    """A strtotime() subset: ISO 8601 (with Z or an offset, converted to UTC), `Y-m-d H:i:s`,
    US `m/d/Y`, unix timestamps. Returns a naive UTC datetime, or None when PHP would fail."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("@") and text[1:].isdigit():
        return datetime.fromtimestamp(int(text[1:]), UTC).replace(tzinfo=None)
    offset: timezone | None = None
    match = _OFFSET.search(text)
    if match and ("T" in text or " " in text or match.group(1) == "Z"):
        token = match.group(1)
        text = text[: match.start()].strip()
        if token == "Z":
            offset = UTC
        else:
            sign = 1 if token[0] == "+" else -1
            digits = token[1:].replace(":", "")
            offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    text = re.sub(r"\.\d+$", "", text)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt.startswith("%H"):
            today = datetime.now(UTC)
            parsed = parsed.replace(year=today.year, month=today.month, day=today.day)
        if offset is not None:
            parsed = parsed.replace(tzinfo=offset).astimezone(UTC).replace(tzinfo=None)
        return parsed
    return None
