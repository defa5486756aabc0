"""`mautic-ctl plan-change` end to end: the seed's checklist, over real HTTP against the emulator."""

from __future__ import annotations

from tests.helpers import contact_view, run_installed


def signup(cli, tier="free", user="u1", email="ann@example.com"):
    res = cli("signup", "--user-id", user, "--email", email, "--tier", tier, "--json")
    assert res.code == 0, res.stderr
    return res


def test_free_to_pro_moves_user_to_pro_segment(cli, mautic):
    """free -> pro: the user leaves Free, joins Pro, enters Pro Onboarding; fields follow."""
    signup(cli)
    res = cli("plan-change", "--user-id", "u1", "--to", "pro", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["transition"] == "upgrade"
    view = contact_view(mautic, "ann@example.com")
    assert view.segments == {"new_users", "pro"}
    assert view.campaigns == {"welcome", "onboarding_pro"}
    assert view.fields["subscription_tier"] == "pro"


def test_pro_to_enterprise_triggers_enterprise_onboarding(cli, mautic):
    """pro -> enterprise enters Enterprise Onboarding exactly once."""
    signup(cli, "pro")
    assert cli("plan-change", "--user-id", "u1", "--to", "enterprise").code == 0
    view = contact_view(mautic, "ann@example.com")
    assert view.segments == {"new_users", "enterprise"}
    assert view.entries == {"welcome": 1, "onboarding_pro": 1, "onboarding_enterprise": 1}


def test_downgrade_removes_higher_tier_segments(cli, mautic):
    """enterprise -> free leaves every higher tier segment and enters Retention."""
    signup(cli, "enterprise")
    assert cli("plan-change", "--user-id", "u1", "--to", "free").code == 0
    view = contact_view(mautic, "ann@example.com")
    assert view.segments == {"new_users", "free"}
    assert "retention" in view.campaigns
    assert view.fields["subscription_tier"] == "free"


def test_cancellation_adds_user_to_churned(cli, mautic):
    """Cancellation: Churned + the fallback tier, Win-back, status cancelled."""
    signup(cli, "pro")
    assert cli("plan-change", "--user-id", "u1", "--to", "cancelled").code == 0
    view = contact_view(mautic, "ann@example.com")
    assert view.segments == {"new_users", "free", "churned"}
    assert "winback" in view.campaigns
    assert view.fields["subscription_status"] == "cancelled"
    assert view.fields["subscription_tier"] == "free"


def test_reactivation_leaves_churned_and_winback(cli, mautic):
    """cancelled -> pro: leaves Churned and the Win-back campaign, joins Pro."""
    signup(cli, "free")
    cli("plan-change", "--user-id", "u1", "--to", "cancelled")
    assert cli("plan-change", "--user-id", "u1", "--to", "pro").code == 0
    view = contact_view(mautic, "ann@example.com")
    assert view.segments == {"new_users", "pro"}
    assert "winback" not in view.campaigns and "onboarding_pro" in view.campaigns
    assert view.fields["subscription_status"] == "active"


def test_plan_change_for_unknown_user_without_email_is_refused(cli, mautic):
    """A user mautic-ctl never saw, and no --email: exit 2, nothing recorded."""
    res = cli("plan-change", "--user-id", "ghost", "--to", "pro")
    assert res.code == 2
    assert "--email" in res.stderr
    assert sum(cli("queue", "stats", "--json").json()["counts"].values()) == 0


def test_plan_change_for_stranger_with_email_creates_contact(cli, mautic):
    """A plan change for an unseen user with --email upserts the contact and sets its tier."""
    res = cli("plan-change", "--user-id", "s1", "--to", "enterprise", "--email", "s1@example.com", "--json")
    assert res.code == 0, res.stderr
    view = contact_view(mautic, "s1@example.com")
    assert view.segments == {"enterprise"}
    assert view.campaigns == {"onboarding_enterprise"}


def test_installed_command_plan_change(env, mautic):
    """The installed `mautic-ctl plan-change` works as a subprocess."""
    assert run_installed(["signup", "--user-id", "u1", "--email", "ann@example.com"], env).code == 0
    res = run_installed(["plan-change", "--user-id", "u1", "--to", "pro", "--from", "free", "--json"], env)
    assert res.code == 0, res.stderr
    assert res.json()["status"] == "applied"
    assert contact_view(mautic, "ann@example.com").segments == {"new_users", "pro"}


def test_contact_deleted_in_mautic_is_recreated(cli, mautic):
    """A contact deleted by hand in Mautic: the next event re-creates it from the email and applies fully."""
    signup(cli, "free")
    old = contact_view(mautic, "ann@example.com").contact_id
    mautic.state.delete_contact(old)
    res = cli("plan-change", "--user-id", "u1", "--to", "pro", "--json")
    assert res.code == 0, res.stderr
    view = contact_view(mautic, "ann@example.com")
    assert view.contact_id != old and res.json()["contact_id"] == view.contact_id
    assert view.segments == {"pro"} and view.campaigns == {"onboarding_pro"}
    assert view.fields["subscription_tier"] == "pro" and view.fields["subscription_status"] == "active"
