"""Issue 9's hard cases, tried as a hostile or careless operator would: each the exact story, end to end
through the installed `mautic-ctl` (exit codes and streams as a user sees them)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import contact_view, run_installed


class _RateLimitedForever(BaseHTTPRequestHandler):
    """A "Mautic" that hands out OAuth2 tokens, then answers every API call with a 429 announcing a
    reset in the year 5138."""

    def _answer(self) -> None:
        if self.path.startswith("/oauth/v2/token"):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"access_token":"t","expires_in":3600,"token_type":"bearer","scope":null}'
            status, headers = 200, {}
        else:
            body = b'{"errors":[{"code":429,"message":"You exceeded the rate limit.","details":[]}]}'
            status, headers = 429, {"X-RateLimit-Reset": "99999999999"}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimitedForever)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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
