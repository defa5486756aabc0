"""Rendering: rich on a terminal, plain when piped, exactly one JSON object with --json.

Tables go to stdout; progress, warnings and errors go to stderr, so `--json` output stays parseable.
On a terminal a table is a box; anywhere else (a pipe, a file, cron) it is plain tab-separated lines
with a header row, which `cut`, `awk` and spreadsheets read (its title goes to stderr);
`--format table|tsv|csv` chooses. JSON
times are ISO 8601 UTC strings, booleans JSON booleans.
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


FORMATS = ("auto", "table", "tsv", "csv")
FORMAT = "auto"  # set once per process by the root --format option
TIME_KEYS = ("_at", "_until")


def iso(value: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_ready(value: Any, key: str = "") -> Any:
    """Unix times (keys ``*_at``, ``*_until``, ``at``) as ISO 8601 UTC; everything else as JSON has it."""
    if isinstance(value, dict):
        return {k: json_ready(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool) and (key == "at" or key.endswith(TIME_KEYS)):
        return iso(value)
    return value


def emit_json(payload: Any) -> None:
    sys.stdout.write(redact(json.dumps(json_ready(payload), default=str, sort_keys=True)) + "\n")
    sys.stdout.flush()


def table_format() -> str:
    if FORMAT != "auto":
        return FORMAT
    return "table" if sys.stdout.isatty() else "tsv"


def _plain(columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str) -> None:
    """TSV: one line per row, tabs between cells, whitespace inside a cell folded to one space (no
    quoting, so `cut -f` works); CSV: RFC 4180 quoting."""
    if fmt == "tsv":
        cell = lambda v: "" if v is None else " ".join(str(v).split())  # noqa: E731
        lines = ["\t".join(cell(v) for v in row) + "\n" for row in [columns, *rows]]
        sys.stdout.write(redact("".join(lines)))
    else:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else redact(str(v)) for v in row] for row in rows)
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
    fmt = table_format()
    if fmt != "table":  # the title (and caption) are context, not data: stderr keeps the lines parseable
        err_line(title)
        _plain(columns, rows, fmt)
        if caption:
            err_line(caption)
        return
    from rich.table import Table

    t = Table(title=title, caption=caption, title_justify="left")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    _console(stderr=False).print(t)


def key_values(title: str, pairs: Iterable[tuple[str, Any]]) -> None:
    """One record as key/value rows; piped, just the rows (its title says nothing the keys do not)."""
    if table_format() != "table":
        _plain(("key", "value"), pairs, table_format())
        return
    table(title, ("key", "value"), pairs)


def stderr_console() -> Console:
    return _console(stderr=True)


def trace_request(rec: object) -> None:
    """-v: one line per Mautic call (method, path without query, status, time); never headers or bodies."""
    status = getattr(rec, "status", None) or getattr(rec, "error", None) or "no answer"
    err_line(f"mautic: {rec.method} {rec.path} -> {status} ({rec.duration_s * 1000:.0f} ms)")  # type: ignore[attr-defined]
