"""Bad input, as a user or a script really sends it (argv bytes, stdin bytes): exit 2, one line, queue unchanged.

The property-based tests of each parser live in tests/unit/test_events.py; these check the whole
path: the installed command, its exit code and stderr, the queue file, and that Mautic saw nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from mautic_ctl.cli import main
from tests.workload import EXE, enqueue, lifecycle_events, subprocess_env

EVENTS_ALREADY_QUEUED = 3
LONG = "x" * 65  # text fields (and the email) accept at most 64 characters in Mautic 5.1
ARG_MAX_STRLEN = 120_000  # Linux refuses a single argv string over 128 KiB (MAX_ARG_STRLEN)


def run(args: list[str | bytes], env: dict[str, str], stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    proc = subprocess.run([EXE, *args], env=subprocess_env(env), input=stdin, capture_output=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def queue_rows(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def assert_refused(name: str, code: int, stderr: bytes, db, mautic, calls_before: int) -> str:
    text = stderr.decode("utf-8")  # the message itself is valid UTF-8, whatever the input was
    assert code == 2, (name, text)
    assert len(text.strip().splitlines()) == 1, (name, text)
    assert text.startswith("error:") and "Traceback" not in text, (name, text)
    assert len(text) < 600, (name, text[:600])  # never echoes a huge value back
    assert queue_rows(db) == EVENTS_ALREADY_QUEUED, name
    assert mautic.counters.total == calls_before, name  # validated before anything reached Mautic
    return text


@pytest.fixture
def queued(env, db_path):
    enqueue(db_path, lifecycle_events(n_users=3, n_events=EVENTS_ALREADY_QUEUED, seed=31))
    return db_path


SIGNUP = ["signup", "--user-id", "u1", "--email", "ann@example.com"]

ARGV_CASES = {
    "invalid email": ["signup", "--user-id", "u1", "--email", "ann@@example"],
    "unknown tier": [*SIGNUP, "--tier", "platinum"],
    "unknown plan": ["plan-change", "--user-id", "u1", "--email", "ann@example.com", "--to", "gold"],
    "over-long field": [
        "sync-contact",
        "--user-id",
        "u1",
        "--email",
        "a@example.com",
        "--set",
        f"subscription_tier={LONG}",
    ],
    "over-long name": [*SIGNUP, "--first-name", LONG],
    "over-long email": ["signup", "--user-id", "u1", "--email", f"{LONG}@example.com"],
    "huge argument": [*SIGNUP, "--first-name", "y" * ARG_MAX_STRLEN],
    "control character": ["signup", "--user-id", "u1\x1b[31m", "--email", "ann@example.com"],
    "bell in a name": [*SIGNUP, "--last-name", "Ann\x07"],
    "non-UTF-8 user id": [b"signup", b"--user-id", b"u\xff\xfe1", b"--email", b"ann@example.com"],
    "non-UTF-8 email": [b"signup", b"--user-id", b"u1", b"--email", b"ann\xe9@example.com"],
    "bad date": [*SIGNUP, "--occurred-at", "yesterday-ish"],
    "unknown field": ["sync-contact", "--user-id", "u1", "--email", "a@example.com", "--set", "favourite_colour=red"],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("apply", [False, True], ids=["no-apply", "apply"])
def test_bad_arguments_exit_2_with_one_line_and_change_nothing(mautic, env, queued, apply):
    """Each bad argument (argv bytes as a shell passes them): exit 2, one `error:` line, no row, no call."""
    for name, args in ARGV_CASES.items():
        calls = mautic.counters.total
        code, out, err = run([*args, *([] if apply else ["--no-apply"])], env)
        text = assert_refused(name, code, err, queued, mautic, calls)
        assert out == b"", (name, out)
        assert "\x1b" not in text and "\x07" not in text, name  # no terminal escape is echoed


@pytest.mark.timeout(60)
def test_a_10_mb_argument_is_refused_in_one_line(mautic, env, queued, capsys):
    """A 10 MB option value (in process: Linux cannot exec one argv string over 128 KiB): exit 2, one line."""
    calls = mautic.counters.total
    with pytest.raises(SystemExit) as exit_info:
        main([*SIGNUP, "--first-name", "z" * 10_000_000])
    err = capsys.readouterr().err
    assert_refused("10 MB", exit_info.value.code, err.encode(), queued, mautic, calls)


VALID = {"type": "signup", "user_id": "u9", "email": "u9@example.com", "event_id": "ok-1"}

STDIN_CASES = {
    "malformed JSON": b'{"type": "signup", "user_id": ',
    "malformed JSONL line": json.dumps(VALID).encode() + b"\n{not json}\n",
    "not UTF-8": json.dumps(VALID).encode() + b"\n" + b'{"type": "signup", "user_id": "\xff"}\n',
    "invalid email": json.dumps({**VALID, "email": "nobody"}).encode(),
    "unknown tier": json.dumps({**VALID, "tier": "platinum"}).encode(),
    "over-long value": json.dumps({**VALID, "first_name": LONG}).encode(),
    "control characters": json.dumps({**VALID, "user_id": "u\u0000\u001b9"}).encode(),
    "10 MB record": json.dumps({**VALID, "first_name": "w" * 10_000_000}).encode(),
    "10 MB line": json.dumps(VALID).encode() + b"\n" + b"[" * 10_000_000 + b"\n",
    "not an object": b"[1, 2, 3]",
    "a good record then a bad one": json.dumps([VALID, {**VALID, "event_id": "ok-2", "tier": "gold"}]).encode(),
}


@pytest.mark.timeout(90)
def test_bad_ingest_input_exits_2_and_records_nothing(mautic, env, queued):
    """`ingest - --apply` with malformed JSON, bad bytes, bad values or 10 MB: exit 2, one line, no row, no call."""
    for name, data in STDIN_CASES.items():
        calls = mautic.counters.total
        code, _, err = run(["ingest", "-", "--apply"], env, stdin=data)
        assert_refused(name, code, err, queued, mautic, calls)
    code, out, err = run(["ingest", "-", "--json"], env, stdin=json.dumps(VALID).encode())
    assert code == 0, err
    assert json.loads(out)["recorded"] == 1  # the same command accepts good input
