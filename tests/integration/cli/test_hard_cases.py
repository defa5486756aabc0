"""Issue 9's hard cases, tried as a hostile or careless operator would: each the exact story, end to end
through the installed `mautic-ctl` (exit codes and streams as a user sees them)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import contact_view, run_installed


def _serve(api_status: int, api_body: bytes, headers: dict[str, str]) -> Iterator[str]:
    """A fake "Mautic" on loopback: OAuth2 tokens for anyone, and one fixed answer to every API call."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/oauth/v2/token"):
                body = b'{"access_token":"t","expires_in":3600,"token_type":"bearer","scope":null}'
                status, extra = 200, {}
            else:
                body, status, extra = api_body, api_status, headers
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile_url() -> Iterator[str]:
    """Every API call answered by a 429 announcing a reset in the year 5138."""
    body = b'{"errors":[{"code":429,"message":"You exceeded the rate limit.","details":[]}]}'
    yield from _serve(429, body, {"X-RateLimit-Reset": "99999999999"})


def _due_times(db: str) -> list[float]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT next_attempt_at FROM events ORDER BY id")]


def test_a_429_resetting_in_5138_waits_at_most_the_cap_and_queue_retry_unsticks_it(env, mautic, hostile_url):
    """Hard case 1: the 429's reset is capped at queue.backoff_max; `queue retry ID` makes the waiting event
    due now, and once Mautic answers, `queue run` applies it and the user's later event."""
    hostile = env | {"MAUTIC_BASE_URL": hostile_url}
    signup = run_installed(["signup", "--user-id", "u1", "--email", "u1@example.com"], hostile)
    assert signup.code == 75 and "429" in signup.stderr, signup.stderr
    (due,) = _due_times(env["MAUTIC_CTL_DB"])
    assert due <= time.time() + 3600  # queue.backoff_max, not the year 5138
    later = run_installed(["plan-change", "--user-id", "u1", "--to", "pro", "--no-apply"], env)
    assert later.code == 0
    assert run_installed(["queue", "run"], env).code == 75  # Mautic answers now, but the signup still waits
    assert contact_view(mautic, "u1@example.com") is None
    retried = run_installed(["queue", "retry", "1", "--json"], env)
    assert retried.code == 0 and retried.json()["ids"] == [1], retried.stderr
    assert run_installed(["queue", "run"], env).code == 0
    view = contact_view(mautic, "u1@example.com")
    assert view is not None and "pro" in view.segments and view.fields["subscription_tier"] == "pro"


def test_an_event_dated_in_the_future_is_refused_and_nothing_is_recorded(env, mautic):
    """Hard case 2: `signup --occurred-at 2999-01-01T00:00:00Z` would supersede every later event of the
    user for ever; it is exit 2, one line, nothing recorded. A few seconds of clock skew are tolerated."""
    db = Path(env["MAUTIC_CTL_DB"])
    future = run_installed(
        ["signup", "--user-id", "f1", "--email", "f1@example.com", "--occurred-at", "2999-01-01T00:00:00Z"], env
    )
    assert future.code == 2 and future.stdout == ""
    assert future.stderr.startswith("error: occurred-at 2999-01-01T00:00:00+00:00 is in the future")
    assert future.stderr.count("\n") == 1
    assert not db.exists() or _due_times(str(db)) == []
    assert contact_view(mautic, "f1@example.com") is None
    skewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30))
    ok = run_installed(["signup", "--user-id", "f1", "--email", "f1@example.com", "--occurred-at", skewed], env)
    assert ok.code == 0, ok.stderr


SIGNUP = ["signup", "--no-apply", "--user-id", "s1", "--email", "s1@example.com"]


def _tables(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))


def test_a_queue_database_from_a_newer_mautic_ctl_is_refused_not_migrated_down(tmp_path: Path):
    """Hard case 3: a higher user_version is exit 2 with one line; the file keeps its version."""
    db = tmp_path / "queue.db"
    env = {"MAUTIC_CTL_DB": str(db)}
    assert run_installed(SIGNUP, env).code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    for args in (SIGNUP, ["queue", "stats"], ["queue", "run"]):
        res = run_installed(args, env)
        assert res.code == 2, (args, res.stderr)
        assert res.stderr.count("\n") == 1 and "schema version 99, newer than this mautic-ctl" in res.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_another_applications_database_is_refused_and_left_untouched(tmp_path: Path):
    """Hard case 4: `--db other-app.db` naming someone else's SQLite file adds no table to it (exit 2)."""
    other = tmp_path / "other-app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, title TEXT)")  # a name we use, too
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO orders (total) VALUES (9.5)")
    before = other.read_bytes()
    for args in (["--db", str(other), *SIGNUP], ["--db", str(other), "queue", "stats"]):
        res = run_installed(args, {})
        assert res.code == 2, res.stderr
        assert res.stderr.startswith(f"error: {other} is not a mautic-ctl queue database")
        assert res.stderr.count("\n") == 1
    assert _tables(other) == ["events", "orders"] and other.read_bytes() == before


def test_an_empty_file_becomes_a_queue_database(tmp_path: Path):
    """An empty file (e.g. made by `touch`) is not another application's: it is set up as the queue."""
    db = tmp_path / "touched.db"
    db.touch()
    assert run_installed(["--db", str(db), *SIGNUP], {}).code == 0
    assert "events" in _tables(db)


def test_a_number_mautic_cannot_keep_is_refused_before_recording(env, mautic, tmp_path: Path):
    """Hard case 9: `sync-contact --set lifetime_value=1e308`, and two payments of 1e308 through `ingest`,
    are exit 2 with nothing recorded."""
    db = Path(env["MAUTIC_CTL_DB"])
    res = run_installed(
        ["sync-contact", "--user-id", "n1", "--email", "n1@example.com", "--set", "lifetime_value=1e308"], env
    )
    assert res.code == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "a Mautic number field keeps" in res.stderr
    payments = b"".join(
        b'{"type": "payment", "user_id": "n1", "email": "n1@example.com", "amount": 1e308, "event_id": "p%d"}\n' % i
        for i in (1, 2)
    )
    res = run_installed(["ingest", "-"], env, stdin=payments)
    assert res.code == 2 and "at most" in res.stderr, res.stderr
    assert not db.exists() or _due_times(str(db)) == []


SECRET = "cs-Very-Secret-7f3a9"


@pytest.fixture
def echoing_url() -> Iterator[str]:
    """Every API call refused with a message echoing the client secret (as a misconfigured proxy might)."""
    body = b'{"errors":[{"code":400,"message":"bad client_secret=%s for client 1_x","details":[]}]}' % SECRET.encode()
    yield from _serve(400, body, {})


def test_a_configured_secret_echoed_by_the_server_is_never_printed_or_stored(env, echoing_url):
    """Hard case 10: the secret is redacted from stderr, stdout, last_error, the error history and the audit."""
    hostile = env | {"MAUTIC_BASE_URL": echoing_url, "MAUTIC_CLIENT_SECRET": SECRET}
    res = run_installed(["-v", "signup", "--user-id", "e1", "--email", "e1@example.com"], hostile)
    assert res.code == 1 and "could not be applied" in res.stderr, res.stderr
    assert "client_secret=[redacted]" in res.stderr
    shown = run_installed(["queue", "show", "1", "--json"], hostile)
    listed = run_installed(["queue", "list", "--json"], hostile)
    assert "[redacted]" in shown.stdout
    for out in (res.stdout, res.stderr, shown.stdout, shown.stderr, listed.stdout):
        assert SECRET not in out
    db = Path(env["MAUTIC_CTL_DB"])
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stored = [
            str(row) for table in ("events", "event_errors", "audit") for row in conn.execute(f"SELECT * FROM {table}")
        ]
    assert stored and not any(SECRET in row for row in stored)
    assert SECRET.encode() not in db.read_bytes()
