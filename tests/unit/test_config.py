"""One definition of a valid configuration: the light view (record path) and the full view agree.

`signup --no-apply` reads ``config.load_quick``; `queue run` / `queue stats` read ``settings.load_settings``.
Both run ``config.normalize``; this table proves they accept and reject the same configurations, from a
file, a profile or the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mautic_ctl import config
from mautic_ctl.config import Invalid, field_spec, generic_path, load_quick, normalize, ref, tiers, url
from mautic_ctl.errors import EXIT_INPUT, ConfigError
from mautic_ctl.events import FieldSpec, FieldType
from mautic_ctl.settings import load_settings

VALID = {
    "empty file": "",
    "the example's shape": '[lifecycle]\ntiers = ["free", "pro", "enterprise"]\n[segments]\npro = 3\nchurned = "Churned"\n',
    "mixed-case tiers": '[lifecycle]\ntiers = ["Free", "PRO"]\ncancel_tier = "FREE"\n',
    "a long text field": '[fields]\nnickname = { type = "text", max_length = 191 }\n',
    "a select field": '[fields]\nplan = { type = "select", choices = ["a", "b"] }\n',
    "a tier map": '[stripe.tiers]\nprice_1AbC = "Pro"\n',
    "a profile overlays the top level": (
        '[mautic]\nbase_url = "https://prod.example.com"\n[profiles.staging.mautic]\nbase_url = "https://st.example.com"\n'
    ),
}
INVALID = {
    "tiers twice": ('[lifecycle]\ntiers = ["free", "free"]\n', "lifecycle.tiers"),
    "tiers by case and cancelled": ('[lifecycle]\ntiers = ["free", "Pro", "pro", "cancelled"]\n', "lifecycle.tiers"),
    "no tiers": ("[lifecycle]\ntiers = []\n", "lifecycle.tiers"),
    "a field longer than Mautic holds": ('[fields]\nbio = { type = "text", max_length = 500 }\n', "fields.bio"),
    "a field of no known type": ('[fields]\nbio = "essay"\n', "fields.bio"),
    "a field with an unknown key": ('[fields]\nbio = { type = "text", maxlength = 10 }\n', "fields.bio"),
    "an unknown section": ("colour = 1\n", "colour"),
    "an unknown key": ("[queue]\nlenght = 5\n", "queue.lenght"),
    "a negative lease": ("[queue]\nlease = -5\n", "queue.lease"),
    "a URL without scheme": ('[mautic]\nbase_url = "mautic.example.com"\n', "mautic.base_url"),
    "a zero segment id": ("[segments]\npro = 0\n", "segments.pro"),
    "a cancel tier not in tiers": ('[lifecycle]\ncancel_tier = "gold"\n', "cancel_tier"),
    "a segment of no tier": ("[segments]\ngold = 1\n", "[segments]"),
    "an onboarding of no tier": ("[campaigns.onboarding]\ngold = 1\n", "[campaigns.onboarding]"),
    "a tier map to no tier": ('[stripe.tiers]\nprice_1 = "gold"\n', "billing tier map"),
    "a broken profile": ("[profiles.staging.queue]\nlease = 0\n", "queue.lease"),
}


@pytest.fixture
def write(tmp_path: Path):
    def write(text: str | bytes) -> Path:
        path = tmp_path / "config.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        os.chmod(path, 0o600)
        return path

    return write


def both_views(path: Path, profile: str | None = None) -> tuple[object, object]:
    """What each view makes of the file: its vocabulary and queue file, or the ConfigError message."""

    def attempt(fn):
        try:
            return fn()
        except ConfigError as exc:
            assert exc.exit_code == EXIT_INPUT
            return f"error: {exc}"

    light = attempt(lambda: (q := load_quick(path, profile=profile)) and (q.vocabulary, q.db, q.base_url))
    full = attempt(lambda: (s := load_settings(path, profile)) and (s.vocabulary(), s.queue.db, s.mautic.base_url))
    return light, full


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_light_and_full_views_accept_the_same_valid_configs(write, text):
    light, full = both_views(write(text), profile="staging" if "profiles" in text else None)
    assert not isinstance(light, str), light
    assert light == full


@pytest.mark.parametrize(("text", "where"), INVALID.values(), ids=INVALID.keys())
def test_light_and_full_views_reject_the_same_invalid_configs(write, text, where):
    light, full = both_views(write(text), profile="staging" if "profiles" in text else None)
    assert isinstance(light, str) and where in light, light
    assert light == full


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"MAUTIC_CTL_LIFECYCLE__TIERS": "free,free"}, "lifecycle.tiers"),
        ({"MAUTIC_CTL_QUEUE__BATCH_SIZE": "lots"}, "queue.batch_size"),
        ({"MAUTIC_CTL_FIELDS__BIO__MAX_LENGTH": "500"}, "fields.bio"),
        ({"MAUTIC_CTL_STRIPE__TIERS__price_1": "gold"}, "billing tier map"),
        ({"MAUTIC_BASE_URL": "mautic.example.com"}, "mautic.base_url"),
        ({"MAUTIC_CTL_NOSUCH__KEY": "1"}, "nosuch"),
    ],
)
def test_both_views_reject_the_same_environment(write, monkeypatch, env, where):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    light, full = both_views(write(""))
    assert isinstance(light, str) and where in light, light
    assert light == full


def test_a_config_file_that_is_not_utf8_is_one_config_error(write):
    """Hard case 5: a Latin-1 file is an exit-2 ConfigError saying so, in both views."""
    light, full = both_views(write('[mautic]\nusername = "Jos\xe9"\n'.encode("latin-1")))
    assert light == full and isinstance(light, str)
    assert "is not UTF-8 text; save it as UTF-8" in light


# --- profiles and generic environment overrides ----------------------------------------------------

PROFILES = """
[mautic]
base_url = "https://prod.example.com"
client_id = "prod-id"
[queue]
db = "/srv/prod.db"
batch_size = 100
[segments]
pro = 3
[profiles.staging.mautic]
base_url = "https://staging.example.com"
client_id = "staging-id"
[profiles.staging.queue]
db = "/srv/staging.db"
[profiles.staging.segments]
pro = 30
"""


def test_a_profile_overlays_the_top_level_key_by_key(write, monkeypatch):
    path = write(PROFILES)
    prod = load_settings(path)
    assert (prod.mautic.base_url, prod.queue.db, prod.segments["pro"]) == (
        "https://prod.example.com",
        Path("/srv/prod.db"),
        3,
    )
    for staging in (load_settings(path, "staging"), _with_env(monkeypatch, path)):
        assert staging.profile == "staging"
        assert staging.mautic.base_url == "https://staging.example.com"
        assert staging.mautic.client_id == "staging-id"
        assert staging.queue.db == Path("/srv/staging.db")
        assert staging.queue.batch_size == 100  # not in the profile: the top level's
        assert staging.segments == {"pro": 30}
    quick = load_quick(path, profile="staging")
    assert (quick.base_url, quick.db) == ("https://staging.example.com", Path("/srv/staging.db"))


def _with_env(monkeypatch, path):
    monkeypatch.setenv("MAUTIC_CTL_PROFILE", "staging")
    try:
        return load_settings(path)
    finally:
        monkeypatch.delenv("MAUTIC_CTL_PROFILE")


def test_the_environment_wins_over_the_profile_and_the_flag_over_both(write, monkeypatch):
    path = write(PROFILES)
    monkeypatch.setenv("MAUTIC_CTL_QUEUE__DB", "/env.db")
    assert load_settings(path, "staging").queue.db == Path("/env.db")
    assert load_quick(path, profile="staging").db == Path("/env.db")
    assert load_settings(path, "staging", queue={"db": "/flag.db"}).queue.db == Path("/flag.db")
    assert load_quick(path, Path("/flag.db"), "staging").db == Path("/flag.db")


def test_an_unknown_profile_names_the_defined_ones(write):
    path = write(PROFILES)
    for load in (lambda: load_settings(path, "prod"), lambda: load_quick(path, profile="prod")):
        with pytest.raises(ConfigError) as exc:
            load()
        assert str(exc.value) == f"profile 'prod' is not defined in {path}; defined profiles: staging."


def test_generic_overrides_reach_every_kind_of_key(monkeypatch):
    monkeypatch.setenv("MAUTIC_CTL_QUEUE__BATCH_SIZE", "50")
    monkeypatch.setenv("MAUTIC_CTL_MAUTIC__VERIFY_TLS", "false")
    monkeypatch.setenv("MAUTIC_CTL_MAUTIC__TIMEOUT", "2.5")
    monkeypatch.setenv("MAUTIC_CTL_STRIPE__TIERS__price_1AbC", "pro")
    monkeypatch.setenv("MAUTIC_CTL_LEMONSQUEEZY__TIERS__301111", "Enterprise")
    monkeypatch.setenv("MAUTIC_CTL_CAMPAIGNS__ONBOARDING__PRO", "12")
    monkeypatch.setenv("MAUTIC_CTL_SEGMENTS__CHURNED", "Churned users")
    monkeypatch.setenv("MAUTIC_CTL_LIFECYCLE__TIERS", "free, pro, enterprise")
    monkeypatch.setenv("MAUTIC_CTL_FIELDS__COMPANY_SIZE", "number")
    monkeypatch.setenv("MAUTIC_CTL_WEBHOOK__EVENTS_TOKEN", "tok-123")
    s = load_settings()
    assert s.queue.batch_size == 50 and s.mautic.verify_tls is False and s.mautic.timeout == 2.5
    assert s.stripe.tiers == {"price_1AbC": "pro"}  # a price id keeps its case
    assert s.lemonsqueezy.tiers == {"301111": "enterprise"}
    assert s.campaigns.onboarding == {"pro": 12} and s.segments == {"churned": "Churned users"}
    assert s.field_specs()["company_size"] == FieldSpec("company_size", FieldType.NUMBER)
    assert s.webhook.events_token.get_secret_value() == "tok-123"
    assert load_quick().vocabulary == s.vocabulary()


def test_a_generic_override_wins_over_the_seed_name(monkeypatch):
    monkeypatch.setenv("MAUTIC_PRO_TIER_SEGMENT_ID", "3")
    assert load_settings().segments == {"pro": 3}
    monkeypatch.setenv("MAUTIC_CTL_SEGMENTS__PRO", "4")
    assert load_settings().segments == {"pro": 4}


def test_generic_paths_match_schema_names_case_insensitively_and_keep_free_keys():
    assert generic_path("QUEUE__BATCH_SIZE") == ["queue", "batch_size"]
    assert generic_path("STRIPE__TIERS__price_1AbC") == ["stripe", "tiers", "price_1AbC"]
    assert generic_path("Campaigns__Onboarding__pro") == ["campaigns", "onboarding", "pro"]


# --- pure validators --------------------------------------------------------------------------------


def test_pure_validators():
    assert tiers(["Free", " Pro "]) == ["free", "pro"]
    for bad in (["free", "FREE"], [], ["free", ""], ["cancelled"], "", [1]):
        with pytest.raises(Invalid):
            tiers(bad)
    assert url(" https://m.example.com/api/ ") == "https://m.example.com"
    for bad in ("ftp://x", "m.example.com", "https://", 5):
        with pytest.raises(Invalid):
            url(bad)
    assert ref(12) == 12 and ref("Pro users") == "Pro users" and ref(config.EnvText("0012")) == 12
    assert ref("12") == "12"  # from TOML a quoted "12" is a name, as written
    for bad in (0, -1, True, "", 1.5):
        with pytest.raises(Invalid):
            ref(bad)
    assert field_spec("n", {"type": "text", "max_length": 191}).max_length == 191
    for bad in ({"max_length": 500}, {"max_length": 0}, {"type": "essay"}, {"choices": "a"}, 3):
        with pytest.raises(Invalid):
            field_spec("n", bad)


def test_normalize_is_idempotent_and_fills_every_default():
    once = normalize({"lifecycle": {"tiers": ["Free", "Pro"]}, "fields": {"n": "number"}})
    assert normalize(once) == once
    assert once["lifecycle"] == {
        "tiers": ["free", "pro"],
        "cancel_tier": "free",
        "on_delete": "delete",
        "on_email_conflict": "dead",
    }
    assert once["queue"]["batch_size"] == 200 and once["mautic"]["base_url"] is None
