"""The `mautic-ctl` command line: the root Typer app, and the one place exceptions become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli import config as config_cmds
from mautic_ctl.cli import demo as demo_cmds
from mautic_ctl.cli import events as event_cmds
from mautic_ctl.cli import ingest as ingest_cmds
from mautic_ctl.cli import queue as queue_cmds
from mautic_ctl.cli import webhook as webhook_cmds
from mautic_ctl.cli.context import AppContext
from mautic_ctl.errors import EXIT_ERROR, EXIT_INPUT, MauticCtlError

app = typer.Typer(
    name="mautic-ctl",
    help="Keep Mautic contacts, segments and campaigns in step with your users' lifecycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.", dir_okay=False)] = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite queue file.", dir_okay=False)] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show each Mautic call and full tracebacks.")
    ] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify Mautic's TLS certificate.")] = False,
) -> None:
    ctx.obj = AppContext(config=config, db=db, verbose=verbose, insecure=insecure)
    ctx.call_on_close(ctx.obj.close)


event_cmds.register(app)
queue_cmds.register(app)
config_cmds.register(app)
ingest_cmds.register(app)
demo_cmds.register(app)
webhook_cmds.register(app)


try:  # TEMP until the emulator command lands
    from mautic_ctl.cli.emulator import emulator as _emulator

    app.command("emulator", help="Serve a Mautic 5 emulator (seeded, with fault injection) to try things out.")(_emulator)
except ImportError:
    pass


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a known error is one line on stderr and its exit code, never a traceback."""
    from typer.exceptions import TyperException  # Typer vendors click: its usage errors derive from this

    from mautic_ctl.cli.output import err_line

    verbose = any(a in ("-v", "--verbose") for a in (argv or sys.argv[1:]))
    try:
        command = typer.main.get_command(app)
        command.main(args=argv, prog_name="mautic-ctl", standalone_mode=False)
    except MauticCtlError as exc:
        err_line(f"error: {_chain(exc)}" if exc.exit_code != 75 else _chain(exc))
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TyperException as exc:
        show = getattr(exc, "show", None)
        show() if show else err_line(f"error: {exc.format_message()}")
        sys.exit(EXIT_INPUT if exc.exit_code == 2 else exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_line("interrupted; whatever was recorded stays in the queue.")
        sys.exit(130)
    except Exception as exc:
        from mautic_ctl.settings import debug_enabled

        if verbose or debug_enabled():
            import traceback

            traceback.print_exc()
        err_line(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for details; please report it).")
        sys.exit(EXIT_ERROR)
    sys.exit(0)


def _chain(exc: BaseException) -> str:
    """The message and its causes on one line."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).strip()
        if text and text not in parts:
            parts.append(text)
        exc = exc.__cause__  # type: ignore[assignment]
    return " <- ".join(parts)
