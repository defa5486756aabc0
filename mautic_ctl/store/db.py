"""The store connection: SQLite (pragmas, schema migrations, write transactions), or PostgreSQL.

A ``postgresql://`` URL where a path is expected selects ``store.pg`` (imported only then); everything
else in ``store/`` is written once against the ``sqlite3.Connection`` surface both provide.

One connection per process, WAL mode, a busy timeout, short ``BEGIN IMMEDIATE`` write transactions.
The hot paths (recording an event, claiming a batch) use named SQL on the raw ``sqlite3`` connection;
sqlite-utils runs the schema migrations, and is only imported when the schema is behind, so a
command that merely records an event starts fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mautic_ctl.errors import ConfigError, StoreError, StoreRefused

SCHEMA_VERSION = 8
BUSY_TIMEOUT_MS = 60_000  # 50 processes enqueueing at once must wait, never fail with "locked"

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: an event acknowledged to its sender survives a power cut too, not only a process crash.
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    # Deleted and overwritten content is zeroed, not left in free space: an erased user's email must
    # not survive in the file (`delete-user`); the WAL is truncated after an erasure for the same reason.
    "PRAGMA secure_delete=ON",
)


def is_postgres(target: object) -> bool:
    """Whether ``target`` (a path, or a URL folded into a ``Path``) names a PostgreSQL store."""
    return str(target).startswith(("postgresql:", "postgres:"))


def connect(path: Path | str, *, check_schema: bool = True) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the store at ``path`` (a SQLite file or a PostgreSQL URL).

    ``check_schema=False``: a PostgreSQL connection borrowed again by a process that already checked the
    schema (a receiver borrows one per delivery); SQLite's check is one pragma read and always runs.
    """
    if is_postgres(path):
        return _connect_postgres(path, check_schema)
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the queue database {path} ({exc}); check MAUTIC_CTL_DB.") from None
    conn.row_factory = sqlite3.Row
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            _refuse_foreign(conn, path)  # before any pragma: journal_mode=WAL would rewrite its header
        for pragma in PRAGMAS:
            _retry_locked(conn, pragma)
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            _migrate(conn, path)
    except StoreError:
        conn.close()
        raise
    except sqlite3.OperationalError as exc:
        conn.close()
        raise StoreError(f"cannot open the queue database {path} ({exc}); try again.") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ConfigError(f"{path} is not a mautic-ctl queue database ({exc}).") from None
    return conn


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    """A private in-memory copy of the store at ``path``, for a dry run: the file is only read (never
    created, migrated or written), and the dry run may go through the same code paths as a real run
    (claims, progress) without a byte of the file changing. A PostgreSQL store is opened as usual:
    the dry-run paths do not write to it."""
    if is_postgres(path):
        return connect(path)
    path = Path(path).expanduser()
    memory = sqlite3.connect(":memory:", isolation_level=None)
    memory.row_factory = sqlite3.Row
    if path.exists():
        quoted = urllib.parse.quote(str(path))
        for mode in ("mode=ro", "immutable=1"):  # immutable: a WAL file nobody else may write right now
            try:
                source = sqlite3.connect(f"file:{quoted}?{mode}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
                try:
                    source.backup(memory)
                finally:
                    source.close()
                break
            except sqlite3.OperationalError as exc:
                error = exc
        else:
            raise StoreError(f"cannot read the queue database {path} ({error}); try again.")
    if memory.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        import sqlite_utils

        from mautic_ctl.store.schema import MIGRATIONS

        MIGRATIONS.apply(sqlite_utils.Database(memory))
        memory.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return memory


def drain_lock_path(target: Path | str) -> Path:
    """The file whose flock elects one apply-at-once drainer among this host's processes.

    Beside a SQLite file; for a PostgreSQL store, in the temp directory (per host: drainers on other
    hosts are safe anyway, the claim never hands one event to two of them).
    """
    if is_postgres(target):
        import hashlib
        import tempfile

        digest = hashlib.sha256(str(target).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"mautic-ctl-{digest}.drain-lock"
    return Path(f"{target}.drain-lock")


def on_postgres(conn: object) -> bool:
    """Whether ``conn`` is a PostgreSQL store (for the few statements written once per engine)."""
    return not isinstance(conn, sqlite3.Connection)


def _connect_postgres(target: object, check_schema: bool) -> sqlite3.Connection:
    try:
        from mautic_ctl.store import pg
    except ImportError:
        raise ConfigError(
            "a postgresql:// store needs the PostgreSQL driver; install it with: pip install 'mautic-ctl[postgres]'."
        ) from None
    return pg.connect(target, migrate=check_schema)  # type: ignore[return-value]  # the same surface, see store.pg


def _retry_locked(conn: sqlite3.Connection, sql: str) -> None:
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite answers "database is locked"
    # at once (no busy handler: two readers upgrading would deadlock) when several processes open
    # the new file together. The lock is short: wait for it as busy_timeout would.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    # Several processes may open a fresh database at once: a file lock makes one of them migrate
    # while the others wait, instead of racing on CREATE TABLE.
    lock_path = path.with_name(path.name + ".migrate-lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreRefused(
                f"the queue database {path} has schema version {version}, newer than this mautic-ctl "
                f"understands ({SCHEMA_VERSION}); upgrade mautic-ctl on this host."
            )
        import sqlite_utils

        from mautic_ctl.store.schema import MIGRATIONS

        MIGRATIONS.apply(sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """StoreRefused when a database mautic-ctl never stamped holds anything but mautic-ctl's own tables.

    Version 0 is a new file, or one a first migration died in (its tables are exactly ours, and
    migrating again finishes the job), or another application's file given to --db by mistake: that
    one must not gain our tables. Ours means: the very shape one stage of our migrations leaves, found
    by migrating a scratch in-memory database (so a table another app happens to call `events` is not ours).
    """
    found = _table_sql(conn)
    if not found:
        return
    import sqlite_utils

    from mautic_ctl.store.schema import MIGRATIONS

    ours: set[tuple[str, str]] = set()  # every table shape some stage of our migrations leaves
    scratch = sqlite_utils.Database(sqlite3.connect(":memory:"))
    try:
        for step in [m.name for m in MIGRATIONS.pending(scratch)]:
            MIGRATIONS.apply(scratch, stop_before=step)
            ours |= set(_table_sql(scratch.conn).items())
        MIGRATIONS.apply(scratch)
        ours |= set(_table_sql(scratch.conn).items())
    finally:
        scratch.conn.close()
    foreign = sorted(name for name, sql in found.items() if (name, sql) not in ours)
    if foreign:
        names = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
        raise StoreRefused(
            f"{path} is not a mautic-ctl queue database (it holds other tables: {names}); "
            "give --db (or MAUTIC_CTL_DB) a new file or mautic-ctl's own, nothing was changed."
        )


def _table_sql(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {name: sql for name, sql in rows}


@contextlib.contextmanager
def write(conn: sqlite3.Connection, *, exclusive: bool = True) -> Iterator[sqlite3.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction: takes the write lock up front, so read-then-write is safe.

    sqlite-utils' ``atomic()`` would open a deferred transaction, which can fail with SQLITE_BUSY
    at its first write after a read; IMMEDIATE waits for the lock (busy_timeout) instead.

    On PostgreSQL the same guarantee is a store-wide advisory lock. ``exclusive=False`` is for
    transactions that are safe under row locks alone (each write a single guarded statement): there
    PostgreSQL lets workers on many hosts proceed in parallel; SQLite has one writer either way.
    """
    begin = getattr(conn, "begin", None)  # a PostgreSQL connection; sqlite3's has no such method
    if begin is not None:
        begin(exclusive)
    else:
        _begin_immediate(conn)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def _begin_immediate(conn: sqlite3.Connection) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            # busy_timeout already waited; WAL checkpoints can still surface a transient lock.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"the queue database is busy ({exc}); try again.") from None
            time.sleep(0.05)


def now_ts() -> float:
    return time.time()


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]
