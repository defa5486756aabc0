"""Secrets never leak: not to stdout or stderr (errors and -v included), not to the SQLite file or its WAL."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mautic_ctl.emulator.config import EmulatorConfig
from mautic_ctl.emulator.server import EmulatorHandle, start_in_thread
from tests.helpers import SEGMENT_ENV, make_all_due
from tests.workload import EXE, subprocess_env, write_config

BASIC_USER, BASIC_PASSWORD = "api-operator", "Pw-basic-7c1e9a44d2"
CLIENT_ID, CLIENT_SECRET = "7_reliability", "oauth-secret-5b0f3e9d81"
WRONG_SECRET = "wrong-secret-e6d2a0c3"
BASIC_HEADER = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
KEEPER = """import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM events").fetchall()
print("open", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def vault() -> Iterator[EmulatorHandle]:
    """An emulator that knows only our secret credentials."""
    handle = start_in_thread(EmulatorConfig(users={BASIC_USER: BASIC_PASSWORD}, clients={CLIENT_ID: CLIENT_SECRET}))
    yield handle
    handle.stop()


class Recorder:
    """Runs commands and keeps every byte a secret could leak into."""

    def __init__(self, db: Path, env: dict[str, str]) -> None:
        self.db, self.env, self.seen = db, env, bytearray()
        self.keep: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        if self.keep is not None:
            self.keep.communicate(timeout=10)

    def __call__(self, *args: str, stdin: bytes | None = None, **env: str) -> int:
        proc = subprocess.run(
            [EXE, *args], env=subprocess_env(self.env | env), input=stdin, capture_output=True, timeout=60
        )
        if self.keep is None and self.db.exists():
            # A reader that stays open keeps the -wal file on disk between commands. It lives in its
            # own process: this one reads (and closes) the database files, and closing any descriptor
            # of a file drops every POSIX lock the process holds on it, which would corrupt the WAL.
            self.keep = subprocess.Popen([sys.executable, "-c", KEEPER, str(self.db)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)  # fmt: skip
            assert self.keep.stdout is not None and self.keep.stdout.readline() == b"open\n"
        self.seen += proc.stdout + proc.stderr
        for suffix in ("", "-wal", "-shm", "-journal"):  # read after each command: the WAL is reused
            path = Path(f"{self.db}{suffix}")
            if path.exists():
                self.seen += path.read_bytes()
        return proc.returncode

    def every_command(self, *, verbose: bool) -> list[int]:
        v = ["-v"] if verbose else []
        event = json.dumps({"type": "plan_change", "user_id": "s1", "to": "enterprise", "event_id": f"e{verbose}"})
        return [
            self(*v, "signup", "--user-id", "s1", "--email", "s1@example.com", "--tier", "pro"),
            self(*v, "signup", "--user-id", "s2", "--email", "s2@example.com", "--no-apply"),
            self(*v, "plan-change", "--user-id", "s1", "--to", "free"),
            self(*v, "sync-contact", "--user-id", "s1", "--set", "subscription_status=trial"),
            self(*v, "ingest", "-", "--apply", stdin=event.encode()),
            self(*v, "queue", "run"),
            self(*v, "queue", "list"),
            self(*v, "queue", "stats", "--json"),
            self(*v, "queue", "show", "1"),
            self(*v, "queue", "retry", "--all-dead"),
            self(*v, "queue", "replay", "--since", "1d"),
            self(*v, "queue", "run", "--json"),
            self(*v, "queue", "purge", "--done-older-than", "30d"),
            self(*v, "verify-config"),
            self(*v, "webhook", "list"),
            self(*v, "signup", "--user-id", "s3", "--email", "not-an-email"),  # bad input
            self(*v, "--insecure", "signup", "--user-id", "s4", "--email", "s4@example.com"),
        ]


def assert_no_secret(recorder: Recorder, vault: EmulatorHandle) -> None:
    conn = sqlite3.connect(recorder.db)
    audit = json.dumps(conn.execute("SELECT * FROM audit").fetchall()).encode()
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] > 0  # the audit table was written
    conn.close()
    tokens = list(vault.emulator.auth.tokens)
    assert tokens  # the emulator did issue access tokens
    for secret in (BASIC_PASSWORD, BASIC_HEADER, CLIENT_SECRET, WRONG_SECRET, *tokens):
        assert secret.encode() not in recorder.seen, secret
        assert secret.encode() not in audit, secret


@pytest.mark.timeout(120)
def test_oauth_secret_and_tokens_never_leak(vault, tmp_path):
    """OAuth2 from the environment: every command, failures and -v too; no secret or token anywhere."""
    db = tmp_path / "queue.db"
    env = {"MAUTIC_BASE_URL": vault.url, "MAUTIC_CLIENT_ID": CLIENT_ID, "MAUTIC_CLIENT_SECRET": CLIENT_SECRET,
           "MAUTIC_CTL_DB": str(db), **{k: str(v) for k, v in SEGMENT_ENV.items()}}  # fmt: skip
    vault.reset()
    run = Recorder(db, env)
    try:
        codes = run.every_command(verbose=True)
        assert 0 in codes and 2 in codes
        wrong = {"MAUTIC_CLIENT_SECRET": WRONG_SECRET}
        assert run("-v", "signup", "--user-id", "s5", "--email", "s5@example.com", **wrong) != 0  # wrong secret
        make_all_due(str(db))
        assert run("queue", "run", **wrong) != 0
        vault.down_for(None)
        assert run("-v", "signup", "--user-id", "s6", "--email", "s6@example.com") == 75  # Mautic down
        assert run("verify-config", MAUTIC_CTL_DEBUG="1") != 0
        vault.up()
        assert Path(f"{db}-wal").exists()
    finally:
        run.close()
        vault.up()
    assert_no_secret(run, vault)


@pytest.mark.timeout(120)
def test_basic_password_never_leaks(vault, tmp_path):
    """HTTP Basic from a config file: every command, failures and -v too; no password or header anywhere."""
    db = tmp_path / "queue.db"
    mautic = {"base_url": vault.url, "username": BASIC_USER, "password": BASIC_PASSWORD}
    config = write_config(tmp_path / "config.toml", mautic=mautic, segments={"new_users": 1, "free": 2, "pro": 3,
                          "enterprise": 4, "churned": 5}, campaigns={"welcome": 1})  # fmt: skip
    wrong = write_config(tmp_path / "wrong.toml", mautic={**mautic, "password": WRONG_SECRET})
    broken = write_config(tmp_path / "broken.toml", mautic={**mautic, "timeout": "soon"})
    vault.reset()
    run = Recorder(db, {"MAUTIC_CTL_CONFIG": str(config), "MAUTIC_CTL_DB": str(db)})
    try:
        codes = run.every_command(verbose=False)  # (the OAuth2 test runs them with -v)
        assert 0 in codes and 2 in codes
        assert run("-v", "signup", "--user-id", "s5", "--email", "s5@example.com", MAUTIC_CTL_CONFIG=str(wrong)) != 0
        make_all_due(str(db))
        assert run("-v", "queue", "run", MAUTIC_CTL_CONFIG=str(wrong)) != 0  # wrong password
        assert run("-v", "queue", "stats", MAUTIC_CTL_CONFIG=str(broken)) == 2  # invalid config file
        vault.down_for(None)
        assert run("-v", "signup", "--user-id", "s6", "--email", "s6@example.com") == 75
        vault.up()
    finally:
        run.close()
        vault.up()
    assert_no_secret(run, vault)
