"""`mautic-ctl sync-contact`: typed field updates, always PATCH."""

from __future__ import annotations

from tests.helpers import run_installed


def test_sync_contact_updates_typed_fields_with_patch(cli, mautic):
    """Fields are typed and formatted as Mautic expects (datetime in UTC) and sent with PATCH."""
    assert cli("signup", "--user-id", "u1", "--email", "ann@example.com").code == 0
    mautic.counters.reset()
    res = cli(
        "sync-contact",
        "--user-id",
        "u1",
        "--set",
        "last_login=2026-11-25T10:20:00+02:00",
        "--set",
        "lifetime_value=129",
        "--set",
        "subscription_status=past_due",
        "--json",
    )
    assert res.code == 0, res.stderr
    state = mautic.state
    assert state.field_value("ann@example.com", "last_login") == "2026-11-25 08:20:00"
    assert state.field_value("ann@example.com", "lifetime_value") == 129
    assert state.field_value("ann@example.com", "subscription_status") == "past_due"
    routes = dict(mautic.counters.by_route)
    assert routes.get(("PATCH", "/api/contacts/batch/edit")) == 1
    assert not [r for r in routes if r[0] == "PUT"]


def test_malformed_set_exits_2_and_queue_unchanged(cli, mautic):
    """Malformed --set, unknown alias, or a zero Mautic would drop: exit 2 and nothing recorded."""
    cli("signup", "--user-id", "u1", "--email", "ann@example.com")
    for bad in ("no-equals-sign", "unknown_alias=1", "lifetime_value=0", "last_login=yesterday"):
        res = cli("sync-contact", "--user-id", "u1", "--set", bad)
        assert res.code == 2, (bad, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
    assert sum(cli("queue", "stats", "--json").json()["counts"].values()) == 1


def test_installed_command_sync_contact(env, mautic):
    """The installed `mautic-ctl sync-contact` works as a subprocess."""
    assert run_installed(["signup", "--user-id", "u1", "--email", "ann@example.com"], env).code == 0
    res = run_installed(["sync-contact", "--user-id", "u1", "--set", "lifetime_value=42"], env)
    assert res.code == 0, res.stderr
    assert mautic.state.field_value("ann@example.com", "lifetime_value") == 42
