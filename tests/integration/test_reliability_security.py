"""Security defaults: TLS is verified unless --insecure (which warns), and a config file others can read warns."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from mautic_ctl.emulator.app import create_app
from mautic_ctl.emulator.server import _ThreadServer
from mautic_ctl.settings import Settings
from tests.helpers import contact_view, mautic_env, run_installed
from tests.workload import write_config

pytestmark = pytest.mark.timeout(60)

INSECURE_WARNING = "warning: TLS certificate verification is OFF (--insecure)"


class TlsMautic:
    def __init__(self, url: str, app, server: uvicorn.Server, thread: threading.Thread) -> None:
        self.url, self.app, self.server, self.thread = url, app, server, thread

    @property
    def calls(self) -> int:
        return self.app.state.emulator.counters.total


@pytest.fixture(scope="module")
def tls_mautic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMautic]:
    """The emulator behind HTTPS with a self-signed certificate (what a MITM or a misconfigured proxy shows)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    tmp = tmp_path_factory.mktemp("tls")
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    app = create_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning", lifespan="off", access_log=False
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield TlsMautic(f"https://127.0.0.1:{sock.getsockname()[1]}", app, server, thread)
    server.should_exit = True
    thread.join(5)


def test_tls_verification_is_on_by_default():
    """The settings verify Mautic's TLS certificate unless told otherwise."""
    assert Settings().mautic.verify_tls is True


def test_an_unverifiable_certificate_is_refused_and_the_event_kept(tls_mautic, tmp_path):
    """A self-signed certificate: no request reaches the server, the event stays queued, the reason is named."""
    env = mautic_env(tls_mautic.url, str(tmp_path / "q.db"))
    calls = tls_mautic.calls
    res = run_installed(["signup", "--user-id", "u1", "--email", "tls@example.com", "--json"], env)
    assert res.code == 75, res.stderr
    assert res.json()["status"] == "queued"
    assert "TLS certificate could not be verified" in res.stderr and "--insecure" in res.stderr
    assert tls_mautic.calls == calls  # the handshake failed before any HTTP request was sent
    assert INSECURE_WARNING not in res.stderr


def test_insecure_connects_and_warns(tls_mautic, tmp_path):
    """`--insecure` skips certificate checks, and says so on stderr (never on stdout)."""
    env = mautic_env(tls_mautic.url, str(tmp_path / "q.db"))
    res = run_installed(["--insecure", "signup", "--user-id", "u2", "--email", "insecure@example.com", "--json"], env)
    assert res.code == 0, res.stderr
    assert res.stderr.startswith(INSECURE_WARNING)
    assert INSECURE_WARNING not in res.stdout and res.json()["status"] == "applied"
    state = tls_mautic.app.state.emulator.state
    assert state.contact_by_email("insecure@example.com") is not None


@pytest.mark.parametrize("command", [["queue", "stats"], ["signup", "--user-id", "u3", "--email", "c@example.com",
                                                           "--no-apply"]])  # fmt: skip
def test_a_config_file_others_can_read_is_warned_about(env, tmp_path, command):
    """A config file readable by group/others: one `warning:` line with the chmod fix; mode 600: silence."""
    config = write_config(tmp_path / "config.toml", queue={"lease": 60.0})
    quiet = run_installed(["--config", str(config), *command], env)
    assert quiet.code == 0 and "readable by other users" not in quiet.stderr, quiet.stderr
    config.chmod(0o644)
    loud = run_installed(["--config", str(config), *[c.replace("u3", "u4") for c in command]], env)
    assert loud.code == 0, loud.stderr
    lines = [line for line in loud.stderr.splitlines() if "readable by other users" in line]
    assert lines and all(line == lines[0] for line in lines), loud.stderr
    assert lines[0].startswith("warning: config file ") and f"chmod 600 {config}" in lines[0]
    assert ".py" not in loud.stderr  # no Python source location or code line
    assert "readable" not in loud.stdout


def test_validation_happens_before_any_call(mautic, env):
    """An invalid event sent for immediate application makes no call to Mautic and records nothing."""
    mautic.counters.reset()
    res = run_installed(["signup", "--user-id", "u5", "--email", "bad@@example.com"], env)
    assert res.code == 2
    assert mautic.counters.total == 0
    assert sum(run_installed(["queue", "stats", "--json"], env).json()["counts"].values()) == 0
    assert contact_view(mautic, "bad@@example.com") is None
