"""The `mautic-ctl` command line: the root Typer app, and the one place exceptions become exit codes."""

import sys
import warnings
from importlib import import_module
from pathlib import Path
from typing import Annotated

import typer

from mautic_ctl.cli.context import AppContext
from mautic_ctl.errors import EXIT_ERROR, EXIT_INPUT, MauticCtlError

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
}
_GLOBAL_OPTIONS_WITH_VALUE = {"--config", "-c", "--db", "--profile"}


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
) -> None:
    ctx.obj = AppContext(config=config, db=db, profile=profile, verbose=verbose, insecure=insecure)
    ctx.call_on_close(ctx.obj.close)


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or only the module that holds ``command``."""
    app = typer.Typer(
        name="mautic-ctl",
        help="Keep Mautic contacts, segments and campaigns in step with your users' lifecycle.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    wanted = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else dict.fromkeys(COMMAND_MODULES.values())
    for module in wanted:
        import_module(f"mautic_ctl.cli.{module}").register(app)
    return app


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
