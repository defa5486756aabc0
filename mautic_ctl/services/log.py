"""log: the audit trail — every Mautic call, with the event and user it was made for.

Filters are parsed here (pure); the query is ``store.mirror.audit_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mautic_ctl.errors import InputError

STATUS_CLASSES = ("ok", "error", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    user_id: str | None = None
    event: str | None = None  # a queue id, or an event id
    since: float | None = None  # unix time
    status_min: int | None = None
    status_max: int | None = None
    no_answer: bool = False  # only calls that got no answer
    limit: int = 100


def parse_status(text: str | None) -> tuple[int | None, int | None, bool]:
    """ "404" -> that code; "4xx" -> its class; "ok" -> 2xx; "error" -> >= 400 or no answer."""
    if text is None:
        return None, None, False
    t = text.strip().lower()
    if t.isdigit() and 100 <= int(t) <= 599:
        return int(t), int(t), False
    if len(t) == 3 and t[0] in "2345" and t.endswith("xx"):
        return int(t[0]) * 100, int(t[0]) * 100 + 99, False
    if t == "ok":
        return 200, 299, False
    if t == "error":
        return 400, 599, True
    raise InputError(f"unknown --status {text!r}; use a code such as 404, a class such as 4xx, ok or error.")


def parse_since(text: str | None, now: datetime) -> float | None:
    """A duration back from now (7d, 2h, 30m) or an ISO 8601 time."""
    if text is None:
        return None
    from mautic_ctl.durations import parse_duration
    from mautic_ctl.events import parse_datetime

    try:
        return (now - timedelta(seconds=parse_duration(text))).timestamp()
    except InputError:
        return parse_datetime(text, "--since").timestamp()


def build_filter(
    *,
    user_id: str | None,
    event: str | None,
    since: str | None,
    status: str | None,
    limit: int,
    now: datetime | None = None,
) -> AuditFilter:
    low, high, no_answer = parse_status(status)
    return AuditFilter(user_id, event, parse_since(since, now or datetime.now(UTC)), low, high, no_answer, limit)


def audit_trail(db: Path, wanted: AuditFilter) -> list[dict[str, Any]]:
    """The calls matching ``wanted``, newest first; reads only the queue file (no settings model)."""
    from mautic_ctl.store import connect
    from mautic_ctl.store.mirror import audit_log

    conn = connect(db)
    try:
        return audit_log(conn, wanted)
    finally:
        conn.close()
