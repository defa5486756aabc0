"""Errors a person sees: one clear line, a distinct exit code, never a traceback."""

from __future__ import annotations


def test_usage_errors_exit_2_without_traceback(cli):
    """A missing option or an unknown command is a usage error: exit 2, no traceback."""
    for args in (["signup", "--email", "a@example.com"], ["no-such-command"], ["queue", "list", "--status", "nope"]):
        res = cli(*args)
        assert res.code == 2, args
        assert "Traceback" not in res.stderr


def test_missing_configuration_exits_2_and_records_nothing(cli, monkeypatch):
    """No Mautic URL: exit 2 with a sentence naming the variable; nothing is recorded."""
    monkeypatch.delenv("MAUTIC_BASE_URL")
    res = cli("signup", "--user-id", "u1", "--email", "a@example.com")
    assert res.code == 2
    assert res.stderr.strip() == "error: no Mautic URL configured; set MAUTIC_BASE_URL or [mautic] base_url."
    assert sum(cli("queue", "stats", "--json").json()["counts"].values()) == 0


def test_wrong_credentials_keep_the_event_queued(cli, monkeypatch, mautic):
    """Wrong OAuth2 secret: the event stays pending (nothing lost); exit 78 names the setting to fix."""
    monkeypatch.setenv("MAUTIC_CLIENT_SECRET", "wrong-secret")
    res = cli("signup", "--user-id", "u1", "--email", "a@example.com", "--json")
    assert res.code == 78 and "MAUTIC_CLIENT_SECRET" in res.stderr
    assert res.json()["status"] == "queued"
    assert "wrong-secret" not in res.stdout + res.stderr
    assert cli("queue", "stats", "--json").json()["counts"]["pending"] == 1


def test_unexpected_error_is_one_line_and_exit_1(cli, monkeypatch):
    """A bug surfaces as one line with exit 1 (the traceback only with -v)."""
    import mautic_ctl.store.queue as q

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(q, "stats", boom)
    res = cli("queue", "stats")
    assert res.code == 1
    assert res.stderr.strip().splitlines() == [
        "error: unexpected RuntimeError: simulated bug (run with -v for details; please report it)."
    ]
    verbose = cli("-v", "queue", "stats")
    assert "Traceback" in verbose.stderr


def test_verbose_traces_each_call_without_secrets(cli, mautic):
    """-v prints one line per Mautic call (method, path, status) on stderr, and no credential."""
    res = cli("-v", "signup", "--user-id", "u1", "--email", "ann@example.com", "--json")
    assert res.code == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mautic: ")]
    assert "mautic: POST /oauth/v2/token -> 200" in lines[0]
    assert any("POST /api/contacts/batch/new -> 201" in ln for ln in lines)
    assert "emulator-secret" not in res.stderr and "ann@example.com" not in res.stderr


def test_malformed_mautic_url_exits_2_and_records_nothing(cli, monkeypatch):
    """A Mautic URL without http(s):// is a configuration error before anything is recorded."""
    monkeypatch.setenv("MAUTIC_BASE_URL", "mautic.example.com")
    res = cli("signup", "--user-id", "u1", "--email", "a@example.com")
    assert res.code == 2 and "must start with http:// or https://" in res.stderr
    monkeypatch.setenv("MAUTIC_BASE_URL", "http://mautic.example.com")
    assert sum(cli("queue", "stats", "--json").json()["counts"].values()) == 0


def _occupied_port() -> tuple[object, int]:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


def test_webhook_serve_on_a_busy_port_is_one_line_and_its_own_exit_code(env):
    """Issue 9, hard case 6: `webhook serve` on a busy port → one line, exit 69 (EX_UNAVAILABLE), no banner."""
    from tests.helpers import run_installed

    holder, port = _occupied_port()
    try:
        res = run_installed(["webhook", "serve", "--port", str(port)], env, timeout=30)
    finally:
        holder.close()
    assert res.code == 69, res
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the address is already in use; "
        "stop what holds it or choose another --port."
    ]


def test_emulator_on_a_busy_port_is_one_line_and_its_own_exit_code(env):
    """Issue 9, hard case 6: `emulator` on a busy port → one line, exit 69, no banner or server log."""
    from tests.helpers import run_installed

    holder, port = _occupied_port()
    try:
        res = run_installed(["emulator", "--port", str(port)], env, timeout=30)
    finally:
        holder.close()
    assert res.code == 69, res
    assert res.stdout == ""
    assert len(res.stderr.splitlines()) == 1 and f"127.0.0.1:{port}" in res.stderr


def test_webhook_list_with_an_unknown_outcome_is_exit_2(cli):
    """Issue 9, hard case 8: `webhook list --outcome weird` is refused like `queue list --status weird`."""
    res = cli("webhook", "list", "--outcome", "weird")
    assert res.code == 2
    line = res.stderr.strip()
    assert line.startswith(
        "error: unknown outcome 'weird'; use one of: recorded, duplicate, ignored, superseded, waiting, dead"
    )
    assert len(res.stderr.splitlines()) == 1


def test_a_superseded_event_is_reported_not_a_silent_success(env):
    """Issue 9, hard case 2: an event older than what was applied changes nothing, and says so on stderr."""
    from tests.helpers import run_installed

    assert run_installed(["signup", "--user-id", "s1", "--email", "s1@example.com"], env).code == 0
    assert run_installed(["plan-change", "--user-id", "s1", "--to", "pro"], env).code == 0
    old = run_installed(
        ["plan-change", "--user-id", "s1", "--to", "enterprise", "--occurred-at", "2020-01-01T00:00:00Z", "--json"], env
    )
    assert old.code == 0
    assert old.json()["status"] == "superseded"
    warning = [ln for ln in old.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warning) == 1 and "was not applied" in warning[0] and "superseded" in warning[0]


def test_usage_errors_are_one_line_with_the_hint(env):
    """Issue 9, hard case 7: a usage error is one line (`error: …` and where to look), exit 2."""
    from tests.helpers import run_installed

    cases = {
        ("signup", "--email", "a@b.c"): "error: Missing option '--user-id'. See `mautic-ctl signup --help`.",
        ("no-such-command",): "error: No such command 'no-such-command'. See `mautic-ctl --help`.",
        ("queue", "lst"): "error: No such command 'lst'. Did you mean 'list'? See `mautic-ctl queue --help`.",
    }
    for args, line in cases.items():
        res = run_installed(list(args), env)
        assert (res.code, res.stderr, res.stdout) == (2, line + "\n", ""), args
