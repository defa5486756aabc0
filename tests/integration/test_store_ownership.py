"""Whose SQLite file is it: mautic-ctl sets up a new or half-set-up file, and refuses anyone else's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from mautic_ctl.errors import StoreRefused
from mautic_ctl.store import db
from mautic_ctl.store.schema import MIGRATIONS


def test_a_file_whose_first_migration_died_is_finished_not_refused(tmp_path: Path):
    """Version 0 with our tables at some stage (migrations killed before stamping) migrates on."""
    path = tmp_path / "queue.db"
    with sqlite3.connect(path) as conn:
        database = sqlite_utils.Database(conn)
        MIGRATIONS.apply(database, stop_before="m002_delivery_body")  # m001's shapes, then the process died
        conn.execute("DROP TABLE audit")
        conn.execute("DELETE FROM _sqlite_migrations")
    conn = db.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    finally:
        conn.close()


def test_a_table_of_ours_by_name_but_not_by_shape_is_foreign(tmp_path: Path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, who TEXT)")
    with pytest.raises(StoreRefused, match=r"is not a mautic-ctl queue database \(it holds other tables: audit\)"):
        db.connect(path)
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["audit"]
