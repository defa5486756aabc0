"""A rich progress bar for long drains, on a terminal only."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mautic_ctl.verdict import DrainReport


@contextlib.contextmanager
def drain_progress(total: int, *, enabled: bool) -> Iterator[Callable[[DrainReport], None] | None]:
    if not enabled or not sys.stderr.isatty() or total == 0:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mautic_ctl.cli.output import stderr_console

    with Progress(TextColumn("draining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr_console(), transient=True) as bar:  # fmt: skip
        task = bar.add_task("drain", total=total)

        def update(report: DrainReport) -> None:
            bar.update(task, completed=min(report.processed, total),
                       description=f"applied {report.applied}, retried {report.retried}, dead {report.dead}")  # fmt: skip

        yield update
