"""Pure pieces of the operator's toolkit: argument hoisting, usage lines, bootstrap planning, log filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.cli import hoist_globals, with_globals_first
from mautic_ctl.cli.output import json_ready
from mautic_ctl.errors import InputError
from mautic_ctl.events import FieldType
from mautic_ctl.services.bootstrap import config_snippet, field_body, plan_bootstrap
from mautic_ctl.services.log import parse_since, parse_status
from mautic_ctl.settings import Settings

ROOT = {"-v", "--verbose", "--insecure", "--format", "--profile", "--config", "--db"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["queue", "run", "-v"], ["-v", "queue", "run"]),
        (["queue", "stats", "--format", "csv", "--json"], ["--format", "csv", "queue", "stats", "--json"]),
        (["signup", "--format=tsv", "--user-id", "u"], ["--format=tsv", "signup", "--user-id", "u"]),
        (["--insecure", "verify-config"], ["--insecure", "verify-config"]),
        (["ingest", "-", "--", "-v"], ["ingest", "-", "--", "-v"]),  # nothing after -- moves
        (["queue", "run", "--db", "x.db"], ["queue", "run", "--db", "x.db"]),  # the command declares --db itself
    ],
)
def test_global_options_after_the_command_move_before_it(argv, expected):
    assert hoist_globals(argv, ROOT) == expected


def test_an_option_the_command_declares_itself_stays_with_it():
    """`emulator --profile mautic51` is the emulator's cost profile, not the config profile."""
    import typer

    from mautic_ctl.cli import build_app

    root = typer.main.get_command(build_app("emulator"))
    assert "--profile" in {o for p in root.commands["emulator"].params for o in p.opts}
    got = with_globals_first(root, ["emulator", "--profile", "mautic51", "-v"])
    assert got == ["-v", "emulator", "--profile", "mautic51"]


def test_json_times_are_iso_utc_and_booleans_stay_booleans():
    got = json_ready({"next_attempt_at": 1_800_000_000.0, "at": 0, "ok": False, "seconds": 1.5,
                      "errors": [{"at": 1_800_000_000}]})  # fmt: skip
    assert got == {"next_attempt_at": "2027-01-15T08:00:00Z", "at": "1970-01-01T00:00:00Z", "ok": False,
                   "seconds": 1.5, "errors": [{"at": "2027-01-15T08:00:00Z"}]}  # fmt: skip


def test_money_fields_keep_two_decimals_other_numbers_none():
    assert field_body("lifetime_value", FieldType.NUMBER, None, ())["properties"]["scale"] == 2
    assert field_body("seats", FieldType.NUMBER, None, ())["properties"]["scale"] == 0
    select = field_body("plan_level", FieldType.SELECT, None, ("basic", "plus"))
    assert select["properties"]["list"] == [{"label": "basic", "value": "basic"}, {"label": "plus", "value": "plus"}]


def test_bootstrap_plans_only_what_is_missing_and_never_what_exists():
    settings = Settings(segments={"pro": 30, "churned": "Lost customers"})
    segments = [{"id": 30, "name": "Pro", "isPublished": True}, {"id": 7, "name": "New Users", "isPublished": False}]
    fields = [{"alias": "subscription_tier", "type": "text"}, {"alias": "lifetime_value", "type": "number",
              "properties": {"scale": "0"}}, {"alias": "signup_date", "type": "text"}]  # fmt: skip
    plan = plan_bootstrap(settings, segments, [], fields, with_campaigns=False)
    by = {(i.kind, i.key): i for i in plan.items}
    assert by[("segment", "pro")].action == "exists" and by[("segment", "pro")].mautic_id == 30
    assert by[("segment", "new_users")].action == "exists" and "unpublished" in by[("segment", "new_users")].detail
    assert (by[("segment", "churned")].action, by[("segment", "churned")].name) == ("create", "Lost customers")
    assert (by[("segment", "enterprise")].action, by[("segment", "enterprise")].name) == ("create", "Enterprise Tier")
    assert by[("field", "signup_date")].action == "conflict"  # a text field where a date is configured
    assert "2 decimals" in by[("field", "lifetime_value")].detail and by[("field", "lifetime_value")].action == "exists"
    assert by[("field", "last_login")].action == "create"
    assert all(i.kind != "campaign" for i in plan.items)


def test_the_snippet_lists_every_id_under_its_config_key():
    settings = Settings()
    segments = [{"id": n, "name": name} for n, name in enumerate(
        ["New Users", "Free Tier", "Pro Tier", "Enterprise Tier", "Churned"], start=1)]  # fmt: skip
    campaigns = [{"id": 9, "name": "Pro Onboarding", "isPublished": True}]
    plan = plan_bootstrap(settings, segments, campaigns, [], with_campaigns=True)
    plan.applied = True
    snippet = config_snippet(plan)
    assert snippet.startswith("[segments]\nnew_users = 1  # New Users\nfree = 2  # Free Tier\n")
    assert "[campaigns.onboarding]\npro = 9  # Pro Onboarding\n" in snippet


def test_log_filters():
    assert parse_status("404") == (404, 404, False)
    assert parse_status("5xx") == (500, 599, False)
    assert parse_status("error") == (400, 599, True)
    with pytest.raises(InputError):
        parse_status("weird")
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_since("1d", now) == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert parse_since("2026-01-01T12:00:00Z", now) == datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()
