"""Issue 12, "Failures that hide their cause" 1-3, as the stories were told: the installed `mautic-ctl`
against the emulator over real HTTP, checking exit codes and both streams."""

from __future__ import annotations

import socket
import sqlite3

import pytest

from tests.helpers import AppServer, contact_view, run_installed


def _events(db: str) -> list[tuple[str, int, float]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT status, attempts, next_attempt_at FROM events ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("setting", "wrong"),
    [("MAUTIC_CLIENT_SECRET", {"MAUTIC_CLIENT_SECRET": "wrong-secret"}),
     ("MAUTIC_PASSWORD", {"MAUTIC_CLIENT_ID": "", "MAUTIC_CLIENT_SECRET": "", "MAUTIC_USERNAME": "admin",
                          "MAUTIC_PASSWORD": "wrong-secret"})],
    ids=["oauth2", "basic"],
)  # fmt: skip
def test_wrong_credentials_are_a_setup_error_and_nothing_is_burnt(env, mautic, setting, wrong):
    """Story 1: a wrong secret exits 78 with one line naming the setting; `queue run` stops there and leaves
    every event due with no attempt counted; once fixed, `queue run` applies all of them (exit 0)."""
    bad = env | wrong
    res = run_installed(["signup", "--user-id", "w1", "--email", "w1@example.com"], bad)
    assert res.code == 78, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and setting in lines[0]
    assert "queue run" in lines[0] and "wrong-secret" not in res.stderr + res.stdout
    for n in (2, 3):
        assert (
            run_installed(["signup", "--user-id", f"w{n}", "--email", f"w{n}@example.com", "--no-apply"], bad).code == 0
        )

    res = run_installed(["queue", "run"], bad)
    assert res.code == 78
    assert setting in res.stderr and "3 event(s) stay queued (due now: 3, no attempt counted)" in res.stderr
    assert [(s, a) for s, a, _ in _events(env["MAUTIC_CTL_DB"])] == [("pending", 0)] * 3

    res = run_installed(["queue", "run", "--json"], env)  # the secret fixed: no retry, no --now needed
    assert res.code == 0, res.stderr
    assert res.json()["applied"] == 3
    assert all(contact_view(mautic, f"w{n}@example.com").entries == {"welcome": 1} for n in (1, 2, 3))


@pytest.mark.parametrize("mode", ["503", "drop"])
def test_mautic_down_during_signup_then_back_queue_run_applies_it(env, mautic, mode):
    """THE acceptance story: Mautic down during `signup` (exit 75, queued) -> Mautic back -> `queue run`
    applies it and exits 0. The attempt right after recording is a courtesy: it leaves the event due."""
    mautic.down_for(None, mode)
    res = run_installed(["signup", "--user-id", "d1", "--email", "d1@example.com", "--json"], env)
    assert res.code == 75, res.stderr
    assert res.json()["status"] == "queued"
    mautic.up()
    res = run_installed(["queue", "run"], env)
    assert res.code == 0, res.stderr
    assert contact_view(mautic, "d1@example.com").entries == {"welcome": 1}


def test_queue_run_now_skips_backoff_and_the_summary_names_the_last_error(env, mautic):
    """A failure inside `queue run` backs off; the summary says why; `--now` retries at once."""
    assert run_installed(["signup", "--user-id", "b1", "--email", "b1@example.com", "--no-apply"], env).code == 0
    mautic.down_for(None)
    res = run_installed(["queue", "run"], env)
    assert res.code == 75
    assert "1 event(s) remain queued (due now: 0); last error: " in res.stderr and "HTTP 503" in res.stderr
    mautic.up()
    assert run_installed(["queue", "run"], env).code == 75  # still waiting out its backoff
    assert contact_view(mautic, "b1@example.com") is None
    res = run_installed(["queue", "run", "--now", "--json"], env)
    assert res.code == 0 and res.json()["applied"] == 1


def test_queue_retry_works_on_a_pending_event_in_backoff(env, mautic):
    """`queue retry ID` on an event that is waiting out a backoff makes it due now (not "not dead")."""
    assert run_installed(["signup", "--user-id", "r1", "--email", "r1@example.com", "--no-apply"], env).code == 0
    mautic.down_for(None)
    run_installed(["queue", "run"], env)
    mautic.up()
    res = run_installed(["queue", "retry", "1", "--json"], env)
    assert res.code == 0 and res.json()["ids"] == [1]
    assert run_installed(["queue", "run"], env).code == 0
    assert contact_view(mautic, "r1@example.com") is not None


async def _html_app(scope, receive, send):  # any web server that is not Mautic
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<html><body>Not Found</body></html>"})


def test_a_url_that_is_not_mautic_says_so(env):
    server = AppServer(_html_app)
    try:
        res = run_installed(["verify-config"], env | {"MAUTIC_BASE_URL": server.url})
    finally:
        server.stop()
    assert res.code == 78
    line = res.stderr.strip()
    assert line.startswith(f"error: this is not a Mautic API at {server.url}: POST /oauth/v2/token answered HTTP 404")
    assert "MAUTIC_BASE_URL" in line and "API is enabled" in line and len(line.splitlines()) == 1


def test_https_against_plain_http_names_host_port_and_scheme(env, mautic):
    url = mautic.url.replace("http://", "https://")
    res = run_installed(["verify-config"], env | {"MAUTIC_BASE_URL": url})
    assert res.code == 75
    hostport = url.removeprefix("https://")
    assert res.stderr.startswith("error: ") and hostport in res.stderr and "does not speak https" in res.stderr
    assert "SSL:" not in res.stderr


def test_mautic_down_names_host_port_and_a_hint(env):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run_installed(["verify-config"], env | {"MAUTIC_BASE_URL": f"http://127.0.0.1:{port}"})
    assert res.code == 75
    line = res.stderr.strip()
    assert line.startswith("error: ") and f"127.0.0.1:{port}" in line and "is Mautic running there" in line
    assert "<-" not in line


def test_a_404_names_the_configured_object(env, mautic):
    """Issue 10's dead-event story: the leave of segment 42 404s; the error names it, no placeholders."""
    assert run_installed(["signup", "--user-id", "r1", "--email", "r1@example.com"], env).code == 0
    res = run_installed(["plan-change", "--user-id", "r1", "--to", "pro"], env | {"MAUTIC_FREE_TIER_SEGMENT_ID": "42"})
    assert res.code == 1
    assert "segment #42 (configured for tier:free) does not exist in Mautic" in res.stderr
    assert "POST /api/segments/42/contact/" in res.stderr and "{" not in res.stderr


def test_mautic_down_during_ingest_then_back_queue_run_applies_it(env, mautic):
    """The same story through `ingest`: its drain right after recording is a courtesy too."""
    mautic.down_for(None)
    body = b'{"type": "signup", "user_id": "i1", "email": "i1@example.com"}\n'
    res = run_installed(["ingest", "-", "--apply"], env, stdin=body)
    assert res.code == 75, res.stderr
    mautic.up()
    res = run_installed(["queue", "run"], env)
    assert res.code == 0, res.stderr
    assert contact_view(mautic, "i1@example.com").entries == {"welcome": 1}
