"""Durations such as ``30d``, ``12h``, ``90m``, ``45s`` (or plain seconds)."""

from __future__ import annotations

import re

from mautic_ctl.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
MAX_SECONDS = 100 * 365 * 86400
"""A century: callers subtract the duration from now, and datetime cannot go before year 1."""


def parse_duration(text: str) -> float:
    # No duration is longer than 64 characters; the cap also keeps the regex from backtracking
    # through a 10 MB argument.
    match = _RE.match(text) if isinstance(text, str) and len(text) <= 64 else None
    if not match:
        shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:39] + "…"
        raise InputError(f"{shown} is not a duration; write e.g. 30d, 12h, 90m or 45s.")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not seconds <= MAX_SECONDS:  # also catches inf, from hundreds of digits
        raise InputError(f"{match.group(0).strip()[:40]!r} is too long a duration; the most is 100 years (5214w).")
    return seconds
