"""A throwaway PostgreSQL for the test session (pgserver ships the binaries), and fixtures over both stores.

- ``pg_server``: one server per session, in a short /tmp directory (its Unix socket lives there).
- ``pg_url``: a fresh, empty database per test (``CREATE DATABASE``: ~50 ms); dropped afterwards.
- ``store_url``: parametrized over ``sqlite`` and ``postgresql`` — a SQLite path or a PostgreSQL URL,
  for tests (and subprocesses) that must hold on both stores.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count(1)


class PgServer:
    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            import pgserver
        self.dir = tempfile.mkdtemp(prefix="mcpg")
        self.server = pgserver.get_server(self.dir, cleanup_mode="stop")
        self.admin_url = self.server.get_uri()

    def url(self, dbname: str) -> str:
        return self.admin_url.replace("/postgres?", f"/{dbname}?", 1)

    def admin(self, sql: str) -> Any:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else None

    def create_db(self) -> str:
        name = f"t{next(_counter)}"
        self.admin(f"CREATE DATABASE {name}")
        return name

    def drop_db(self, name: str) -> None:
        from mautic_ctl.store import pg

        pg.close_pools()
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer()
    except ImportError:
        pytest.skip("pgserver is not installed: pip install -e '.[test]' brings the test PostgreSQL")
    yield server
    from mautic_ctl.store import pg

    pg.close_pools()
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_db()
    yield pg_server.url(name)
    pg_server.drop_db(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the store lives for this test: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return str(tmp_path / "queue.db")
    return request.getfixturevalue("pg_url")
