"""The `mautic-ctl` command line: the root Typer app, and the one place exceptions become exit codes."""

import sys
import warnings
from importlib import import_module
from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli.context import AppContext
from mautic_ctl.errors import EXIT_ERROR, EXIT_INPUT, InputError, MauticCtlError, MauticError, Queued

# Top-level command -> the module that registers it. Typer introspects the signature of every command
# it registers, so a command run from cron or a backend builds only its own module (start-up time).
COMMAND_MODULES = {
    "signup": "events",
    "plan-change": "events",
    "sync-contact": "events",
    "login": "lifecycle",
    "email-change": "lifecycle",
    "unsubscribe": "lifecycle",
    "resubscribe": "lifecycle",
    "delete-user": "lifecycle",
    "track": "lifecycle",
    "ingest": "ingest",
    "queue": "queue",
    "verify-config": "config",
    "reconcile": "reconcile",
    "report": "report",
    "webhook": "webhook",
    "simulate": "webhook",
    "demo": "demo",
    "emulator": "emulator",
    "dashboard": "dashboard",
    "db": "db",
    "doctor": "doctor",
    "bootstrap": "bootstrap",
    "log": "log",
}
_GLOBAL_OPTIONS_WITH_VALUE = {"--config", "-c", "--db", "--format", "--profile"}
# Root options a user may also write after the command; they are moved before it. (--config and --db
# need no move: every command that reads them declares them too.)
_HOISTED_FLAGS = {"-v", "--verbose", "--insecure"}
_HOISTED_WITH_VALUE = {"--format", "--profile"}


def _version(value: bool) -> None:
    if value:
        from mautic_ctl import __version__

        sys.stdout.write(f"mautic-ctl {__version__}\n")
        raise typer.Exit(0)


def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.", dir_okay=False)] = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite queue file.", dir_okay=False)] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Use the [profiles.NAME] section of the config file (or $MAUTIC_CTL_PROFILE)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show each Mautic call and full tracebacks.")
    ] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify Mautic's TLS certificate.")] = False,
    table_format: Annotated[
        str, typer.Option("--format", help="Tables as: auto (a box on a terminal, else tsv), table, tsv, csv.")
    ] = "auto",
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Keep Mautic contacts, segments and campaigns in step with your users' lifecycle.

    Global options (-v, --insecure, --format, --profile, --config, --db) may come before or after the command.

    Example: mautic-ctl signup --user-id u1 --email ada@example.com
    """
    from mautic_ctl.cli import output

    if table_format not in output.FORMATS:
        raise InputError(f"unknown --format {table_format!r}; use one of: {', '.join(output.FORMATS)}.")
    output.FORMAT = table_format
    ctx.obj = AppContext(config=config, db=db, profile=profile, verbose=verbose, insecure=insecure)
    ctx.call_on_close(ctx.obj.close)


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or only the module that holds ``command``."""
    app = typer.Typer(
        name="mautic-ctl",
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    wanted = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else dict.fromkeys(COMMAND_MODULES.values())
    for module in wanted:
        import_module(f"mautic_ctl.cli.{module}").register(app)
    return app


def _options(command: object) -> set[str]:
    """Every option name a command (and, for a group, any of its subcommands) declares."""
    if command is None:
        return set()
    names = {opt for param in getattr(command, "params", ()) for opt in getattr(param, "opts", ())}
    for sub in getattr(command, "commands", {}).values():
        names |= _options(sub)
    return names


def with_globals_first(root: object, argv: list[str]) -> list[str]:
    """``argv`` with the root's own options moved before the command (see ``hoist_globals``)."""
    own = {opt for param in getattr(root, "params", ()) for opt in getattr(param, "opts", ())}
    return hoist_globals(argv, own - _options(getattr(root, "commands", {}).get(command_of(argv))))


def hoist_globals(argv: list[str], root_options: set[str]) -> list[str]:
    """``mautic-ctl queue run -v`` as ``mautic-ctl -v queue run``: root options found after the command
    move in front of it — only those the root declares and the command does not (``emulator --profile``
    is the emulator's own), and nothing after ``--``."""
    command = command_of(argv)
    if command is None:
        return argv
    at = argv.index(command)
    head, tail, moved = argv[:at], [], []
    rest = iter(argv[at:])
    for arg in rest:
        if arg == "--":
            tail += [arg, *rest]
            break
        name = arg.split("=", 1)[0]
        if name in _HOISTED_FLAGS and name in root_options:
            moved.append(arg)
        elif name in _HOISTED_WITH_VALUE and name in root_options:
            moved.append(arg)
            if "=" not in arg:
                moved.append(next(rest, ""))
        else:
            tail.append(arg)
    return [*head, *moved, *tail]


def command_of(argv: list[str]) -> str | None:
    """The top-level command named in ``argv`` (skipping global options), if any."""
    args = iter(argv)
    for arg in args:
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the full app, for documentation checks and tools
        return build_app()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a known error is one line on stderr and its exit code, never a traceback."""
    from typer.exceptions import TyperException  # Typer vendors click: its usage errors derive from this

    from mautic_ctl.cli.output import err_line

    warnings.showwarning = _show_warning
    argv = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") for a in argv)
    try:
        command = typer.main.get_command(build_app(command_of(argv)))
        argv = with_globals_first(command, argv)
        command.main(args=argv, prog_name="mautic-ctl", standalone_mode=False)
    except MauticCtlError as exc:
        # The client's messages are complete (host, port, hint): the raw transport error adds noise.
        text = exc.message if isinstance(exc, MauticError) else _chain(exc)
        err_line(text if isinstance(exc, Queued) else f"error: {text}")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TyperException as exc:
        err_line(f"error: {usage_line(exc)}")
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


def usage_line(exc: Exception) -> str:
    """A usage error as one line with the hint: Click's own three lines are a usage block, a blank
    line and the error, which cron mail and CI logs show badly (README promises one line)."""
    format_message = getattr(exc, "format_message", None)
    text = " ".join((format_message() if callable(format_message) else str(exc)).split())
    ctx = getattr(exc, "ctx", None)  # Click already adds "Did you mean …?" to unknown names
    if ctx is None:
        return text
    return f"{text} See `{ctx.command_path} --help`."


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    """A Python warning (e.g. a config file others can read) as one `warning:` line, no source line."""
    from mautic_ctl.cli.output import warn

    warn(str(message))


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
