"""Durations such as ``30d``, ``12h``, ``90m``, ``45s`` (or plain seconds)."""

from __future__ import annotations

import re

from mautic_ctl.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float:
    match = _RE.match(text or "")
    if not match:
        raise InputError(f"{text!r} is not a duration; write e.g. 30d, 12h, 90m or 45s.")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]
