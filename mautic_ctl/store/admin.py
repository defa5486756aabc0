"""Store administration: which migrations a store has, and copying a whole store into an empty one.

``copy_store`` moves every table both schemas share, column by column, with the rows' ids, in one
transaction on the target: events keep their ids, statuses, attempts, errors, leases and progress, so
the queue continues where it stopped (a SQLite queue moving to PostgreSQL, or back). Tables added by
later migrations are included without change here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mautic_ctl.errors import InputError, StoreError
from mautic_ctl.store.db import connect, is_postgres, on_postgres, write

BOOKKEEPING = {"_sqlite_migrations", "mautic_ctl_schema", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}
FIRST = ("events", "users")  # referenced by other tables' foreign keys: copied first
BATCH = 5_000


def table_columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The store's tables (without migration bookkeeping) and their columns, in schema order."""
    if on_postgres(conn):
        got = conn.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""
        ).fetchall()
    else:
        got = conn.execute(
            """SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
               WHERE m.type = 'table' ORDER BY m.name, p.cid"""
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in got:
        if table not in BOOKKEEPING and not table.startswith("sqlite_"):
            out.setdefault(table, []).append(column)
    return out


def applied_migrations(target: Path | str) -> list[str]:
    """Names of the migrations already applied to the store at ``target`` (none for a new store)."""
    if is_postgres(target):
        from mautic_ctl.store import pg

        conn = pg.connect(target, migrate=False)
        try:
            if pg.schema_version(conn) is None:
                return []
            return [r[0] for r in conn.execute("SELECT name FROM mautic_ctl_schema ORDER BY applied_at, name")]
        finally:
            conn.close()
    path = Path(target).expanduser()
    if not path.exists():
        return []
    raw = sqlite3.connect(path)
    try:
        found = raw.execute("SELECT 1 FROM sqlite_master WHERE name = '_sqlite_migrations'").fetchone()
        if found is None:
            return []
        return [r[0] for r in raw.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    except sqlite3.DatabaseError:
        return []
    finally:
        raw.close()


def copy_store(
    src: sqlite3.Connection, dst: sqlite3.Connection, *, now: float | None = None,
    on_table: Callable[[str, int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Copy every shared table from ``src`` into the empty store ``dst``; rows copied per table."""
    now = time.time() if now is None else now
    held = src.execute(
        "SELECT count(*) FROM events WHERE status = 'processing' AND lease_until > ?", (now,)
    ).fetchone()[0]
    if held:
        raise InputError(
            f"{held} event(s) are being applied by a running worker of the source store; stop its workers "
            "(or wait for their leases to expire) before copying."
        )
    existing = dst.execute("SELECT count(*) FROM events").fetchone()[0]
    if existing:
        raise InputError(f"the target store already holds {existing} event(s); copy into an empty store.")
    src_tables, dst_tables = table_columns(src), table_columns(dst)
    missing = sorted(set(src_tables) - set(dst_tables))
    if missing:
        raise StoreError(f"the target store lacks table(s) {', '.join(missing)}; run `mautic-ctl db migrate` there.")
    order = [t for t in FIRST if t in src_tables] + sorted(t for t in src_tables if t not in FIRST)
    copied: dict[str, int] = {}
    with write(dst):
        for table in order:
            cols = [c for c in src_tables[table] if c in dst_tables[table]]
            names = ", ".join(cols)
            insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in cols)})"
            dst.execute(f"DELETE FROM {table}")  # e.g. rows a migration seeded: the source's win
            cur = src.execute(f"SELECT {names} FROM {table}")
            n = 0
            while batch := cur.fetchmany(BATCH):
                dst.executemany(insert, [tuple(r) for r in batch])
                n += len(batch)
            copied[table] = n
            if on_table:
                on_table(table, n)
        if on_postgres(dst):
            _advance_identities(dst, dst_tables)
    return copied


def _advance_identities(conn: Any, tables: dict[str, list[str]]) -> None:
    """New rows must get ids above the copied ones: move each identity sequence past its table's max."""
    for table, cols in tables.items():
        if "id" in cols:
            conn.execute(
                f"""SELECT setval(seq, coalesce((SELECT max(id) FROM {table}), 1),
                                  (SELECT max(id) FROM {table}) IS NOT NULL)
                    FROM (SELECT pg_get_serial_sequence(?, 'id') AS seq) s WHERE seq IS NOT NULL""",
                (table,),
            )


def rows_of(conn: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in a stable order (for comparing two stores; not the engines' collations)."""
    names = ", ".join(columns)
    return sorted((tuple(r) for r in conn.execute(f"SELECT {names} FROM {table}")), key=repr)


def open_store(spec: str) -> sqlite3.Connection:
    """``sqlite:PATH``, a plain path, or a postgresql:// URL."""
    return connect(store_target(spec))


def store_target(spec: str) -> str:
    return spec.removeprefix("sqlite://").removeprefix("sqlite:") if spec.startswith("sqlite:") else spec
