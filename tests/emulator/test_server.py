"""Serving helpers, request counters, the CLI command and hot-path performance."""

from __future__ import annotations

import socket

import httpx
import typer
from typer.testing import CliRunner

from mautic_ctl.cli import emulator as emulator_cli
from mautic_ctl.emulator import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    SEED_CAMPAIGNS,
    SEED_SEGMENTS,
    EmulatorConfig,
    serve_in_thread,
)
from mautic_ctl.emulator.state import Contact

from .conftest import Mautic

AUTH = (DEFAULT_USERNAME, DEFAULT_PASSWORD)


def test_serve_in_thread_exposes_state_and_counters() -> None:
    """The handle serves real HTTP, shows the state it changes and counts calls by route and auth type."""
    with serve_in_thread() as server, httpx.Client(base_url=server.url, auth=AUTH) as client:
        cid = client.post("/api/contacts/new", json={"email": "s@example.com"}).json()["contact"]["id"]
        client.post(f"/api/segments/{SEED_SEGMENTS['pro']}/contact/{cid}/add")
        client.post(f"/api/campaigns/{SEED_CAMPAIGNS['welcome']}/contact/{cid}/add")
        contact = server.state.contact_by_email("s@example.com")
        assert contact is not None and server.state.segment_ids_of(contact.id) == {SEED_SEGMENTS["pro"]}
        assert server.state.campaign_rotation(SEED_CAMPAIGNS["welcome"], cid) == 1
        assert server.counters.api_calls == 3
        assert server.counters.calls("POST", "/api/segments/{id}/contact/{cid}/add") == 1
        assert server.counters.by_auth["basic"] == 3
    assert not server.thread.is_alive()


def test_listening_socket_lets_asyncio_set_nodelay() -> None:
    """The server socket is created with proto IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted
    connections (otherwise Nagle + delayed ACK add ~40 ms to every keep-alive answer)."""
    from mautic_ctl.emulator.server import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
    with serve_in_thread() as server, httpx.Client(base_url=server.url, auth=AUTH) as client:
        assert client.get("/api/segments/1").status_code == 200


def test_cli_prints_the_setup_and_serves(monkeypatch) -> None:
    """`emulator` builds the config from its options, prints URL, credentials and seed ids, then serves."""
    served: dict[str, object] = {}

    def fake_serve(config: EmulatorConfig, *, host: str, port: int) -> None:
        served.update(config=config, host=host, port=port)

    from mautic_ctl.emulator import server as emulator_server  # imported lazily by the command

    monkeypatch.setattr(emulator_server, "serve_forever", fake_serve)
    app = typer.Typer()
    app.command("emulator")(emulator_cli.emulator)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(
        app, ["emulator", "--port", "8123", "--fail-rate", "0.2", "--profile", "mautic51", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    config = served["config"]
    assert isinstance(config, EmulatorConfig)
    assert served["port"] == 8123 and config.faults.fail_rate == 0.2 and config.faults.profile == "mautic51"
    assert config.faults.seed == 3 and config.users == {DEFAULT_USERNAME: DEFAULT_PASSWORD}
    output = result.output
    assert "http://127.0.0.1:8123" in output and DEFAULT_PASSWORD in output and "onboarding_pro" in output


def test_email_lookups_do_not_scan_the_contacts(mautic: Mautic) -> None:
    """With 20,000 contacts, `where email in` lookups and upserts go through the email index: the
    contacts table is never iterated (a scan would make the benchmark measure the emulator)."""

    class CountingDict(dict):
        scans = 0

        def values(self):  # type: ignore[override]
            CountingDict.scans += 1
            return super().values()

        def items(self):  # type: ignore[override]
            CountingDict.scans += 1
            return super().items()

        def __iter__(self):
            CountingDict.scans += 1
            return super().__iter__()

    state = mautic.state
    state.contacts = CountingDict(state.contacts)
    for n in range(20_000):
        contact = Contact(id=state.next_id("contact"))
        state.contacts[contact.id] = contact
        state.set_email(contact, f"user{n}@example.com")
    CountingDict.scans = 0
    for n in range(0, 20_000, 1000):
        params = [("where[0][col]", "email"), ("where[0][expr]", "in"), ("where[0][val]", f"user{n}@example.com")]
        assert mautic.get("/api/contacts", params=params).json()["total"] == "1"
        assert mautic.post("/api/contacts/new", json={"email": f"user{n}@example.com"}).status_code == 200
    assert CountingDict.scans == 0
