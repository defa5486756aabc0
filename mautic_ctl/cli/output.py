"""Rendering: rich on a terminal, plain when piped, exactly one JSON object with --json.

Tables go to stdout; progress, warnings and errors go to stderr, so `--json` output stays parseable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mautic_ctl.redact import redact

if TYPE_CHECKING:
    from rich.console import Console


def _console(stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def emit_json(payload: Any) -> None:
    sys.stdout.write(redact(json.dumps(payload, default=str, sort_keys=True)) + "\n")
    sys.stdout.flush()


def err_line(text: str) -> None:
    """One plain line on stderr (errors): no markup, so any text is printed as it is."""
    sys.stderr.write(redact(text.rstrip()) + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    err_line(f"warning: {text}")


def info(text: str) -> None:
    _console(stderr=True).print(redact(text), markup=False)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> None:
    from rich.table import Table

    t = Table(title=title, caption=caption, title_justify="left")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    _console(stderr=False).print(t)


def key_values(title: str, pairs: Iterable[tuple[str, Any]]) -> None:
    table(title, ("key", "value"), pairs)


def stderr_console() -> Console:
    return _console(stderr=True)


def trace_request(rec: object) -> None:
    """-v: one line per Mautic call (method, path without query, status, time); never headers or bodies."""
    status = getattr(rec, "status", None) or getattr(rec, "error", None) or "no answer"
    err_line(f"mautic: {rec.method} {rec.path} -> {status} ({rec.duration_s * 1000:.0f} ms)")  # type: ignore[attr-defined]
