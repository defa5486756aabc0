"""The conventions every good CLI keeps (issue 12), through the installed `mautic-ctl`."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time

import pytest

from mautic_ctl.cli import COMMAND_MODULES, build_app
from tests.helpers import run_installed

EXE = os.path.join(os.path.dirname(sys.executable), "mautic-ctl")


def _commands() -> list[list[str]]:
    import typer

    root = typer.main.get_command(build_app())
    out = []
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out


def test_version_and_shell_completion(env):
    res = run_installed(["--version"], env)
    assert res.code == 0 and res.stdout.startswith("mautic-ctl ") and res.stderr == ""
    res = run_installed([], env | {"_MAUTIC_CTL_COMPLETE": "complete_bash", "COMP_WORDS": "mautic-ctl boot",
                                   "COMP_CWORD": "1"})  # fmt: skip
    assert res.code == 0 and res.stdout.split() == ["bootstrap"]
    res = run_installed(["--show-completion", "bash"], env)
    assert res.code == 0 and "_mautic_ctl_completion" in res.stdout


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a))
def test_every_command_has_an_example_in_its_help(args):
    assert set(COMMAND_MODULES) >= {args[0]}
    res = run_installed([*args, "--help"], {"COLUMNS": "200"})
    assert res.code == 0 and "Example" in res.stdout, args


def test_global_options_before_or_after_the_command(env, mautic):
    assert run_installed(["signup", "--user-id", "g1", "--email", "g1@example.com"], env).code == 0
    before = run_installed(["-v", "--format", "csv", "queue", "stats"], env)
    after = run_installed(["queue", "stats", "-v", "--format", "csv"], env)
    assert before.code == after.code == 0 and before.stdout == after.stdout
    assert after.stdout.startswith("key,value\n")
    traced = run_installed(["signup", "--user-id", "g2", "--email", "g2@example.com", "-v"], env)
    assert traced.code == 0 and "mautic: POST /api/contacts/batch/new -> 201" in traced.stderr
    assert "mautic:" not in traced.stdout


def test_piped_tables_are_tab_separated_and_json_is_typed(env, mautic):
    assert run_installed(["signup", "--user-id", "t1", "--email", "t1@example.com", "--no-apply"], env).code == 0
    res = run_installed(["queue", "list"], env)
    lines = res.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "status", "kind"] and lines[1].split("\t")[:3] == [
        "1",
        "pending",
        "signup",
    ]
    assert not any(ch in res.stdout for ch in "┏┃━│")
    events = run_installed(["queue", "list", "--json"], env).json()["events"]
    assert events[0]["next_attempt_at"].endswith("Z") and "T" in events[0]["next_attempt_at"]
    shown = run_installed(["queue", "show", "1", "--json"], env).json()
    assert shown["created_at"].endswith("Z") and isinstance(shown["payload"], dict)
    assert run_installed(["queue", "run"], env).code == 0
    table = run_installed(["queue", "show", "1"], env).stdout
    assert "{'" not in table and "'}" not in table  # no Python dict reprs
    assert '"contact_id": 1' in table and "POST /api/contacts/batch/new" in table  # its history: every call


def test_results_on_stdout_progress_on_stderr(env, mautic):
    mautic.state.segments[2].is_published = False
    run_installed(["signup", "--user-id", "r1", "--email", "r1@example.com"], env)
    mautic.state.segments[2].is_published = True
    res = run_installed(["queue", "retry", "--all-dead"], env)
    assert res.code == 0 and res.stdout == "revived: 1 event(s) (1)\n"
    res = run_installed(["queue", "replay", "--since", "1h"], env)
    assert res.code == 0 and res.stdout.startswith("queued for replay")


def test_purge_requires_a_unit_dry_runs_and_asks_on_a_terminal(env, mautic):
    for n in (1, 2):
        run_installed(["signup", "--user-id", f"p{n}", "--email", f"p{n}@example.com"], env)
    res = run_installed(["queue", "purge", "--done-older-than", "30"], env)
    assert res.code == 2 and res.stderr.startswith("error: --done-older-than needs a unit: 30d")
    res = run_installed(["queue", "purge", "--done-older-than", "0s", "--dry-run", "--json"], env)
    assert res.json() == {"dry_run": True, "purged": 0, "would_purge": 2}

    main, secondary = pty.openpty()  # a terminal on stdin: purge asks; "n" keeps everything
    proc = subprocess.Popen([EXE, "queue", "purge", "--done-older-than", "0s"], stdin=secondary,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={k: v for k, v in os.environ.items() if not k.startswith("MAUTIC_")} | env)  # fmt: skip
    os.write(main, b"n\n")
    _out, err = proc.communicate(timeout=30)
    os.close(main), os.close(secondary)
    assert proc.returncode == 2 and b"Delete 2 finished event(s) older than 0s?" in err
    assert b"nothing was deleted" in err
    assert run_installed(["queue", "purge", "--done-older-than", "0s", "--yes"], env).stdout == (
        "purged 2 finished event(s).\n"
    )


def test_emulator_json_describes_it_on_stdout(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([EXE, "emulator", "--port", str(port), "--json", "--empty"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        described = json.loads(proc.stdout.readline())
        assert described["url"] == f"http://127.0.0.1:{port}" and described["seeded"] == {}
        assert described["oauth2"]["client_id"]
        import httpx

        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{described['url']}/_emulator/state", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
