"""`mautic-ctl db migrate` on both stores, and `db copy` from SQLite to PostgreSQL and back: every event,
status, attempt, error, mirror row, delivery and audit row arrives identical, and the queue continues."""

from __future__ import annotations

from mautic_ctl.store import admin, db
from mautic_ctl.store.schema import MIGRATIONS
from tests.helpers import contact_view, make_all_due, mautic_env, run_installed

ALL = [m.name for m in MIGRATIONS._migrations]


def test_db_migrate_applies_every_migration_once(store_url, mautic):
    """A new store gets every migration; a second run applies none; both exit 0 with the version."""
    env = mautic_env(mautic.url, store_url)
    first = run_installed(["db", "migrate", "--json"], env)
    assert first.code == 0, first.stderr
    assert (first.json()["applied"], first.json()["schema_version"]) == (ALL, db.SCHEMA_VERSION)
    again = run_installed(["db", "migrate", "--json"], env)
    assert again.code == 0 and again.json()["applied"] == [] and again.json()["migrations"] == ALL


def _history(cli, mautic) -> None:
    """A queue with every kind of row: done, dead (with its error history), retried, pending, superseded."""
    for i in range(6):
        res = cli("signup", "--user-id", f"c{i}", "--email", f"c{i}@example.com", "--tier", "free", "--no-apply")
        assert res.code == 0, res.stderr
    assert cli("queue", "run").code == 0
    for i in range(3):
        assert cli("plan-change", "--user-id", f"c{i}", "--to", "pro", "--no-apply").code == 0
    mautic.down_for(None)
    assert cli("queue", "run").code == 75  # retries with errors recorded
    mautic.up()
    make_all_due()
    assert cli("queue", "run").code == 0
    mautic.state.segments[1].is_published = False
    assert cli("signup", "--user-id", "c6", "--email", "c6@example.com", "--no-apply").code == 0
    assert cli("queue", "run").code == 1  # dead
    mautic.state.segments[1].is_published = True
    for user, tier in (("c5", "enterprise"), ("c3", "pro")):  # left pending
        assert cli("plan-change", "--user-id", user, "--to", tier, "--no-apply").code == 0
    make_all_due()


def _same_rows(a, b) -> dict[str, int]:
    tables_a, tables_b = admin.table_columns(a), admin.table_columns(b)
    assert tables_a == tables_b
    sizes = {}
    for table, cols in tables_a.items():
        rows_a, rows_b = admin.rows_of(a, table, cols), admin.rows_of(b, table, cols)
        assert rows_a == rows_b, table
        sizes[table] = len(rows_a)
    return sizes


def test_db_copy_round_trip_keeps_every_row_and_the_queue_continues(cli, env, db_path, mautic, pg_url, tmp_path):
    """SQLite -> PostgreSQL -> SQLite: identical rows in every table (ids, statuses, attempts, errors,
    progress, mirror, audit); then the copied queue drains on PostgreSQL, new ids follow the old ones."""
    _history(cli, mautic)
    res = run_installed(["db", "copy", "--from", f"sqlite:{db_path}", "--to", pg_url, "--json"], env)
    assert res.code == 0, res.stderr
    lite, pg = db.connect(db_path), db.connect(pg_url)
    try:
        sizes = _same_rows(lite, pg)
        assert res.json()["rows"] == sizes
        assert sizes["events"] == 12 and sizes["event_errors"] >= 4 and sizes["users"] == 7 and sizes["audit"] > 0
        statuses = {r[0] for r in lite.execute("SELECT status FROM events")}
        assert {"done", "dead", "pending"} <= statuses
        max_id = lite.execute("SELECT max(id) FROM events").fetchone()[0]
    finally:
        lite.close()
        pg.close()

    back = tmp_path / "back.db"
    res = run_installed(["db", "copy", "--from", pg_url, "--to", f"sqlite:{back}", "--json"], env)
    assert res.code == 0, res.stderr
    a, b = db.connect(db_path), db.connect(back)
    try:
        _same_rows(a, b)
    finally:
        a.close()
        b.close()

    pg_env = mautic_env(mautic.url, pg_url)
    new = run_installed(["signup", "--user-id", "c9", "--email", "c9@example.com", "--no-apply", "--json"], pg_env)
    assert new.code == 0 and new.json()["queue_id"] == max_id + 1, new.stdout + new.stderr
    run = run_installed(["queue", "run", "--json"], pg_env)
    assert run.json()["applied"] >= 2, run.stdout + run.stderr
    assert contact_view(mautic, "c5@example.com").segments >= {"enterprise"}
    assert contact_view(mautic, "c9@example.com") is not None


def test_db_copy_refuses_a_target_that_already_holds_events(cli, env, db_path, pg_url):
    """Copying into a store with events would mix two queues: one line, input exit code, nothing written."""
    cli("signup", "--user-id", "x", "--email", "x@example.com", "--no-apply")
    assert run_installed(["db", "copy", "--from", str(db_path), "--to", pg_url], env).code == 0
    again = run_installed(["db", "copy", "--from", str(db_path), "--to", pg_url], env)
    assert again.code == 2 and "already holds 1 event" in again.stderr
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
