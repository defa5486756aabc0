"""The PostgreSQL store: a connection that behaves like the ``sqlite3`` one the store code is written for.

Imported only when the store is a ``postgresql://`` URL (psycopg is an extra: ``mautic-ctl[postgres]``).

- ``PgConnection.execute`` / ``executemany`` take SQLite-dialect SQL (rewritten once by ``dialect``),
  return a cursor with ``fetchone``/``fetchall``/``rowcount``, and rows that index by position and by
  name like ``sqlite3.Row``. Autocommit outside ``store.db.write`` transactions, as SQLite runs here.
- Transactions: ``write(conn)`` takes a store-wide advisory lock, which gives every read-then-write
  transaction SQLite's one-writer-at-a-time semantics (and enqueue its property that id order is commit
  order, which per-user order relies on). The queue's hot paths (claim, heartbeat, settle) pass
  ``exclusive=False``: they are single guarded statements under row locks, and the claim uses
  ``FOR UPDATE SKIP LOCKED``, so workers on many hosts never wait for each other.
- Connections come from a small per-process pool (psycopg-pool): `webhook serve` takes one per thread.
- Client-side parameter binding (``ClientCursor``): SQLite SQL such as ``:user_id IS NULL`` leaves a
  parameter's type open, which server-side binding would refuse.
- Schema: the same migrations as SQLite (``store.schema.MIGRATIONS``), run against ``MigrationDb``,
  which rewrites their DDL; the version lives in ``mautic_ctl_schema``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
from psycopg.adapt import Loader

from mautic_ctl.errors import ConfigError
from mautic_ctl.store.dialect import COMPAT_FUNCTIONS, to_postgres

WRITE_LOCK = 0x6D6175746963  # pg_advisory_xact_lock key of `write(conn)`: "mautic"
MIGRATE_LOCK = WRITE_LOCK + 1
CHANNEL = "mautic_ctl_events"  # NOTIFY'd (at commit) by a trigger on every insert into events
POOL_SIZE = 8

NOTIFY_TRIGGER = (
    f"""CREATE OR REPLACE FUNCTION mautic_ctl_notify() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$""",
    "DROP TRIGGER IF EXISTS events_notify ON events",
    """CREATE TRIGGER events_notify AFTER INSERT ON events
       FOR EACH STATEMENT EXECUTE FUNCTION mautic_ctl_notify()""",
)


def is_url(target: object) -> bool:
    return str(target).startswith(("postgresql:", "postgres:"))


def url_of(target: object) -> str:
    """The URL, also after a ``Path`` has folded its ``//`` (``--db`` and settings are typed as paths)."""
    return re.sub(r"^(postgres(?:ql)?):/*", r"\1://", str(target))


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("host", "")
    return f"postgresql://{parts.username + '@' if parts.username else ''}{host}{parts.path}"


class Row(tuple):
    """A result row: by position, by column name, ``dict(row)`` — what the store expects of ``sqlite3.Row``."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    desc = cursor.description
    if desc is None:
        return tuple
    cls = type("Row", (Row,), {"_index": {c.name: i for i, c in enumerate(desc)}})
    return cls


class _NumericLoader(Loader):
    """``sum()`` of integers is NUMERIC in PostgreSQL: an int (or float), as SQLite gives, never a Decimal."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if ("." in text or "e" in text.lower() or "N" in text) else int(text)


class StoreUnavailable(ConfigError):
    """PostgreSQL cannot be reached or refused the login."""


class PgConnection:
    """One pooled psycopg connection with the ``sqlite3.Connection`` surface the store uses."""

    def __init__(self, pool: psycopg_pool.ConnectionPool, url: str) -> None:
        self.url = url
        self._pool = pool
        self._conn: psycopg.Connection[Any] | None = pool.getconn()

    @property
    def raw(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise ConfigError("the PostgreSQL connection is closed.")
        return self._conn

    def execute(self, sql: str, params: Any = None) -> Any:
        try:
            if params is None or len(params) == 0:
                return self.raw.execute(to_postgres(sql, params=False))  # type: ignore[arg-type]
            return self.raw.execute(to_postgres(sql), params)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            raise _unavailable(self.url, exc) if _lost(exc) else exc from None

    def executemany(self, sql: str, seq: Iterable[Any]) -> Any:
        seq = list(seq)
        cur = self.raw.cursor()
        if seq:
            try:
                cur.executemany(to_postgres(sql), seq)  # type: ignore[arg-type]
            except psycopg.OperationalError as exc:
                raise _unavailable(self.url, exc) if _lost(exc) else exc from None
        return cur

    def begin(self, exclusive: bool) -> None:
        """Start a transaction; ``exclusive``: behind the store-wide write lock (see module docstring)."""
        self.execute("BEGIN")
        if exclusive:
            self.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._pool.putconn(conn)

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost(exc: psycopg.Error) -> bool:
    """The server went away or refused us (SQLSTATE classes 08 and 57), as opposed to a bad statement."""
    return exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57")


def _unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreUnavailable(f"cannot use the PostgreSQL store {describe(url)} ({first}); check MAUTIC_CTL_DB.")


_pools: dict[str, psycopg_pool.ConnectionPool] = {}
_pools_lock = threading.Lock()


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)


def _pool(url: str) -> psycopg_pool.ConnectionPool:
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            try:  # fail fast with the server's own reason (a pool would retry until its timeout)
                psycopg.connect(url, connect_timeout=10).close()
            except psycopg.Error as exc:
                raise _unavailable(url, exc) from None
            pool = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True, "cursor_factory": psycopg.ClientCursor, "row_factory": _row_factory},
                configure=_configure,
                open=False,
                name="mautic-ctl",
            )
            try:
                pool.open(wait=True, timeout=10)
            except psycopg_pool.PoolTimeout:
                pool.close()
                raise _unavailable(url, TimeoutError("no connection within 10 s")) from None
            _pools[url] = pool
        return pool


def close_pools() -> None:
    """Close every pool of this process (tests drop their databases afterwards)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


def connect(target: object, *, migrate: bool = True) -> PgConnection:
    """A connection to the store at ``target`` (a postgresql:// URL), migrated to this version's schema."""
    url = url_of(target)
    conn = PgConnection(_pool(url), url)
    try:
        if migrate:
            ensure_schema(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def listener(target: object) -> psycopg.Connection[Any]:
    """A dedicated (unpooled) connection LISTENing for new events; its socket is ready when one is committed."""
    url = url_of(target)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _unavailable(url, exc) from None
    conn.execute(f"LISTEN {CHANNEL}")  # type: ignore[arg-type]
    return conn


def consume_notifies(conn: psycopg.Connection[Any]) -> int:
    """Read the notifications that made the listener's socket ready; how many."""
    return sum(1 for _ in conn.notifies(timeout=0.01))


# --- schema -----------------------------------------------------------------------------------


def schema_version(conn: PgConnection) -> int | None:
    """The schema version stamped in the database, or None for a database mautic-ctl never set up."""
    row = conn.execute("SELECT to_regclass('mautic_ctl_schema')").fetchone()
    if row[0] is None:
        return None
    got = conn.execute("SELECT max(version) FROM mautic_ctl_schema").fetchone()[0]
    return int(got) if got is not None else 0


def ensure_schema(conn: PgConnection) -> None:
    from mautic_ctl.errors import StoreRefused
    from mautic_ctl.store.db import SCHEMA_VERSION

    version = schema_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise StoreRefused(
            f"the PostgreSQL store {describe(conn.url)} has schema version {version}, newer than this "
            f"mautic-ctl understands ({SCHEMA_VERSION}); upgrade mautic-ctl on this host."
        )
    migrate(conn)


def migrate(conn: PgConnection) -> list[str]:
    """Apply pending migrations (one process at a time: a session advisory lock); the names applied."""
    from mautic_ctl.store.db import SCHEMA_VERSION
    from mautic_ctl.store.schema import MIGRATIONS

    conn.execute(f"SELECT pg_advisory_lock({MIGRATE_LOCK})")
    try:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS mautic_ctl_schema (
                   name TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"""
        )
        done = {r[0] for r in conn.execute("SELECT name FROM mautic_ctl_schema")}
        applied = []
        for migration in MIGRATIONS._migrations:
            if migration.name in done:
                continue
            conn.begin(exclusive=False)
            try:
                for ddl in COMPAT_FUNCTIONS:  # PostgreSQL's own dialect: not rewritten
                    conn.raw.execute(ddl)  # type: ignore[arg-type]
                migration.fn(MigrationDb(conn))  # type: ignore[arg-type]
                for ddl in NOTIFY_TRIGGER:
                    conn.raw.execute(ddl)  # type: ignore[arg-type]
                conn.execute(
                    "INSERT INTO mautic_ctl_schema (name, version, applied_at) VALUES (?, ?, ?)",
                    (migration.name, SCHEMA_VERSION, time.time()),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            applied.append(migration.name)
        if not applied:  # a schema whose migrations all ran under an older version number
            conn.execute("UPDATE mautic_ctl_schema SET version = ? WHERE version < ?", (SCHEMA_VERSION, SCHEMA_VERSION))
        return applied
    finally:
        conn.execute(f"SELECT pg_advisory_unlock({MIGRATE_LOCK})")


class _Column:
    def __init__(self, name: str, type_: str) -> None:
        self.name, self.type = name, type_


class _Table:
    def __init__(self, conn: PgConnection, name: str) -> None:
        self.conn, self.name = conn, name

    @property
    def columns(self) -> list[_Column]:
        got = self.conn.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position""",
            (self.name,),
        )
        return [_Column(r[0], r[1]) for r in got]

    @property
    def columns_dict(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    def exists(self) -> bool:
        return bool(self.columns)

    def add_column(self, name: str, col_type: str | type = "TEXT") -> None:
        sql_type = {str: "TEXT", int: "INTEGER", float: "REAL", bytes: "BLOB"}.get(col_type, col_type)  # type: ignore[call-overload]
        self.conn.execute(f'ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS "{name}" {sql_type}')


class MigrationDb:
    """The part of ``sqlite_utils.Database`` the store's migrations use, on PostgreSQL.

    A migration that needs more of sqlite-utils than ``execute``, ``db[table].columns``,
    ``.exists()`` and ``.add_column()`` fails the storage contract suite on PostgreSQL, by name.
    """

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self.conn.execute(sql, params)

    def __getitem__(self, table: str) -> _Table:
        return _Table(self.conn, table)

    def table_names(self) -> list[str]:
        got = self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return [r[0] for r in got]
