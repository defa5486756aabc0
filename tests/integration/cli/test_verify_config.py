"""`mautic-ctl verify-config`: every configured segment, campaign and field checked through the API."""

from __future__ import annotations

from tests.helpers import run_installed


def test_seeded_config_verifies(cli, mautic):
    """All ids and fields exist: exit 0, every check ok."""
    res = cli("verify-config", "--json")
    assert res.code == 0, res.stderr
    payload = res.json()
    assert payload["ok"] is True
    kinds = {(c["kind"], c["key"]) for c in payload["checks"]}
    assert ("segment", "tier:pro") in kinds and ("campaign", "winback") in kinds
    assert ("field", "lifetime_value") in kinds and ("field", "email") in kinds


def test_missing_segment_and_unpublished_campaign_exit_3(cli, mautic, monkeypatch):
    """A segment id Mautic lacks and an unpublished campaign: exit 3, each named."""
    monkeypatch.setenv("MAUTIC_CHURNED_SEGMENT_ID", "999")
    mautic.state.campaigns[5].is_published = False
    res = cli("verify-config", "--json")
    assert res.code == 3
    failed = {(c["kind"], c["key"]): c["detail"] for c in res.json()["checks"] if not c["ok"] and not c["warning"]}
    assert failed == {("segment", "churned"): "missing in Mautic", ("campaign", "winback"): "exists but is unpublished"}
    assert "2 configured item(s)" in res.stderr


def test_names_resolve_and_missing_field_fails(cli, mautic, monkeypatch, tmp_path):
    """Segments named by name or alias resolve; a configured custom field Mautic lacks fails the check."""
    config = tmp_path / "c.toml"
    config.write_text('[segments]\nnew_users = "New Users"\npro = "pro-tier"\n[fields]\nnickname = "text"\n')
    config.chmod(0o600)
    monkeypatch.delenv("MAUTIC_NEW_USERS_SEGMENT_ID")
    monkeypatch.delenv("MAUTIC_PRO_TIER_SEGMENT_ID")
    res = cli("verify-config", "--config", str(config), "--json")
    assert res.code == 3
    checks = {(c["kind"], c["key"]): c for c in res.json()["checks"]}
    assert checks[("segment", "new_users")]["mautic_id"] == 1 and checks[("segment", "new_users")]["ok"]
    assert checks[("segment", "tier:pro")]["mautic_id"] == 3
    assert not checks[("field", "nickname")]["ok"]


def test_installed_command_verify_config(env, mautic):
    """The installed `mautic-ctl verify-config` prints a table (tab-separated, since stdout is a pipe) and exits 0."""
    res = run_installed(["verify-config"], env)
    assert res.code == 0, res.stderr
    assert res.stdout.startswith("kind\tconfig key\tconfigured as\t") and "winback" in res.stdout
