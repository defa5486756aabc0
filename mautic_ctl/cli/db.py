"""db migrate | copy: the store's schema, and moving a queue to another store (e.g. SQLite -> PostgreSQL)."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt

db_app = typer.Typer(help="The store: migrate its schema, copy it to another store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("migrate")
def migrate(ctx: typer.Context, as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Bring the store (--db, MAUTIC_CTL_DB or [queue] db) to this version's schema; safe to run again.

    Example: mautic-ctl db migrate --db postgresql://mautic_ctl@db.internal/mautic_ctl
    """
    from mautic_ctl.cli.output import emit_json, info
    from mautic_ctl.config import load_quick
    from mautic_ctl.services.store_admin import migrate as run_migrate

    root = app_context(ctx)
    target = load_quick(config or root.config, db or root.db).db
    report = run_migrate(target)
    if as_json:
        emit_json(report)
    else:
        applied = ", ".join(report["applied"]) or "none (already current)"
        info(f"{report['store']}: schema version {report['schema_version']}; applied {applied}.")


@db_app.command("copy")
def copy(
    source: Annotated[str, typer.Option("--from", help="Source store: sqlite:PATH, a path, or postgresql://…")],
    target: Annotated[str, typer.Option("--to", help="Empty target store: postgresql://…, sqlite:PATH or a path.")],
    as_json: JsonOpt = False,
) -> None:
    """Copy every event (with its status, attempts and errors), the mirror, billing memory and audit to an empty store.

    Example: mautic-ctl db copy --from sqlite:/var/lib/mautic-ctl/queue.db --to postgresql://mautic_ctl@db/mautic_ctl
    """
    from mautic_ctl.cli.output import emit_json, info, table
    from mautic_ctl.services.store_admin import copy as run_copy

    report = run_copy(source, target, on_table=None if as_json else lambda t, n: info(f"copied {n} row(s) of {t}"))
    if as_json:
        emit_json(report)
    else:
        table(f"copied {report['from']} -> {report['to']}", ("table", "rows"), sorted(report["rows"].items()))
