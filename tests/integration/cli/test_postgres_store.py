"""The everyday commands with `--db postgresql://…` (the installed CLI, real HTTP to the emulator): record and
apply at once, the cron drain, inspection and repair, replay, the billing webhook ingest."""

from __future__ import annotations

from mautic_ctl.store import db
from tests.helpers import contact_view, mautic_env, run_installed


def test_the_commands_work_the_same_on_a_postgresql_store(mautic, pg_url):
    env = mautic_env(mautic.url, "/nonexistent/ignored.db")  # --db wins over MAUTIC_CTL_DB
    pg = ["--db", pg_url]

    def cli(*args: str):
        return run_installed([*pg, *args], env)

    first = cli("signup", "--user-id", "p1", "--email", "p1@example.com", "--tier", "pro", "--json")
    assert first.code == 0 and first.json()["status"] == "applied", first.stdout + first.stderr
    assert contact_view(mautic, "p1@example.com").campaigns >= {"welcome", "onboarding_pro"}
    again = cli(
        "signup", "--user-id", "p1", "--email", "p1@example.com", "--event-id", first.json()["event_id"], "--json"
    )
    assert again.json()["duplicate"] is True

    assert cli("plan-change", "--user-id", "p1", "--to", "enterprise", "--no-apply").code == 0
    mautic.state.segments[4].is_published = False  # the enterprise segment: the event goes dead
    assert cli("queue", "run").code == 1
    dead = cli("queue", "list", "--status", "dead", "--json").json()["events"]
    assert len(dead) == 1 and "unpublished" in dead[0]["last_error"]
    shown = cli("queue", "show", str(dead[0]["id"]), "--json").json()
    assert [e["outcome"] for e in shown["errors"]] == ["dead"]
    mautic.state.segments[4].is_published = True
    assert cli("queue", "retry", "--all-dead").code == 0
    assert cli("queue", "run", "--json").json()["applied"] == 1
    assert "enterprise" in contact_view(mautic, "p1@example.com").segments

    replayed = cli("queue", "replay", "--since", "1d", "--json")
    assert replayed.code == 0, replayed.stderr
    assert cli("queue", "run", "--json").json()["applied"] == 2
    view = contact_view(mautic, "p1@example.com")
    assert set(view.entries.values()) == {1}  # the replay entered no campaign twice
    stats = cli("queue", "stats", "--json").json()
    assert stats["counts"]["done"] == 2 and stats["due"] == 0

    conn = db.connect(pg_url)
    try:
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] > 0  # every call audited in PostgreSQL
        assert conn.execute("SELECT tier FROM users WHERE user_id = 'p1'").fetchone()[0] == "enterprise"
    finally:
        conn.close()
