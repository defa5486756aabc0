"""`db migrate` and `db copy`: bring a store to this version's schema; move a queue between stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mautic_ctl.store import admin, db


def describe(target: Path | str) -> str:
    if db.is_postgres(target):
        from mautic_ctl.store import pg

        return pg.describe(pg.url_of(target))
    return str(Path(target).expanduser())


def migrate(target: Path | str) -> dict[str, Any]:
    """Apply pending migrations (connecting migrates); what was applied and the version now."""
    before = admin.applied_migrations(target)
    conn = db.connect(target)
    conn.close()
    after = admin.applied_migrations(target)
    return {
        "store": describe(target),
        "engine": "postgresql" if db.is_postgres(target) else "sqlite",
        "schema_version": db.SCHEMA_VERSION,
        "applied": [m for m in after if m not in before],
        "migrations": after,
    }


def copy(source: str, target: str, on_table: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Copy the whole store at ``source`` into the empty store at ``target`` (created and migrated)."""
    src_target, dst_target = admin.store_target(source), admin.store_target(target)
    src = db.connect(src_target)
    try:
        dst = db.connect(dst_target)
        try:
            copied = admin.copy_store(src, dst, on_table=on_table)
        finally:
            dst.close()
    finally:
        src.close()
    return {"from": describe(src_target), "to": describe(dst_target), "rows": copied}
