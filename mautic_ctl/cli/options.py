"""Options shared by every command, written once as ``Annotated`` aliases."""

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: $MAUTIC_CTL_CONFIG, then the user config dir).",
                 show_default=False, dir_okay=False),
]  # fmt: skip
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite queue file (default: $MAUTIC_CTL_DB, then the user data dir).",
                 show_default=False, dir_okay=False),
]  # fmt: skip
EventIdOpt = Annotated[
    str | None,
    typer.Option("--event-id", help="Idempotency key: a second event with the same key changes nothing."),
]
OccurredOpt = Annotated[
    str | None,
    typer.Option("--occurred-at", help="When it happened (ISO 8601; default now). Older events never overwrite newer."),
]
NoApplyOpt = Annotated[
    bool,
    typer.Option("--no-apply", help="Only record the event; `queue run` applies it later (fast, no network)."),
]
EmailOpt = Annotated[str | None, typer.Option("--email", help="The user's email address.")]
UserIdOpt = Annotated[str, typer.Option("--user-id", help="The product's user id.")]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Read Mautic only (GET): print the calls it would make and the change per user; "
                 "record and change nothing."),
]  # fmt: skip
