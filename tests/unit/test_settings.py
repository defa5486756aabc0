"""Settings: precedence (flags > environment > TOML > defaults), the fixed env names, refs, and clear errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mautic_ctl.errors import EXIT_INPUT, ConfigError
from mautic_ctl.events import FieldSpec, FieldType
from mautic_ctl.rules import CHURNED, NEW_USERS, RETENTION, WELCOME, WINBACK, onboarding, tier_segment
from mautic_ctl.settings import ENV_NAMES, Settings, load_settings

SECRET = "s3cr3t-Value-42"


@pytest.fixture
def toml(tmp_path: Path):
    """Write a private (0600) config file and return its path."""

    def write(text: str, mode: int = 0o600) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        os.chmod(path, mode)
        return path

    return write


def config_error(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    """The message of a ConfigError, after checking it is one sentence on one line with exit code 2."""
    message = str(exc.value)
    assert exc.value.exit_code == EXIT_INPUT
    assert "\n" not in message and message.endswith("."), message
    assert SECRET not in message
    return message


def dotted(settings: Settings, path: str) -> Any:
    node: Any = settings
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


# --- defaults and precedence ----------------------------------------------------------------------


def test_defaults_without_any_source(isolation: Path):
    """With no flag, environment or file, every setting has its documented default."""
    s = load_settings()
    assert s.mautic.base_url is None and s.mautic.password is None
    assert s.mautic.timeout == 10.0 and s.mautic.batch_limit == 200 and s.mautic.verify_tls is True
    assert s.lifecycle.tiers == ["free", "pro", "enterprise"] and s.lifecycle.cancel_tier == "free"
    assert (s.queue.max_attempts, s.queue.backoff_base, s.queue.backoff_max, s.queue.lease) == (10, 30.0, 3600.0, 300.0)
    assert s.queue.db == isolation / ".local" / "share" / "mautic-ctl" / "queue.db"
    assert s.segments == {} and s.campaign_refs() == {} and s.config_file is None


def test_each_source_overrides_the_one_below(toml, monkeypatch):
    """A key set in TOML is overridden by the environment, which is overridden by a flag."""
    path = toml('[mautic]\nbase_url = "https://toml.example.com"\n')
    assert load_settings(path).mautic.base_url == "https://toml.example.com"
    monkeypatch.setenv("MAUTIC_BASE_URL", "https://env.example.com")
    assert load_settings(path).mautic.base_url == "https://env.example.com"
    flagged = load_settings(path, mautic={"base_url": "https://flag.example.com"})
    assert flagged.mautic.base_url == "https://flag.example.com"
    assert flagged.config_file == path


def test_sources_merge_key_by_key_within_a_section(toml, monkeypatch):
    """Flags, environment and TOML each contribute their own keys of the same section."""
    path = toml('[mautic]\nusername = "toml-user"\ntimeout = 3\n[campaigns.onboarding]\npro = 5\n')
    monkeypatch.setenv("MAUTIC_BASE_URL", "https://env.example.com")
    monkeypatch.setenv("MAUTIC_ENTERPRISE_ONBOARDING_CAMPAIGN_ID", "7")
    s = load_settings(path, mautic={"timeout": 9.5}, queue={"db": "/tmp/x.db"})
    assert (s.mautic.username, s.mautic.base_url, s.mautic.timeout) == ("toml-user", "https://env.example.com", 9.5)
    assert s.campaigns.onboarding == {"pro": 5, "enterprise": 7}
    assert s.queue.db == Path("/tmp/x.db")


def test_none_flags_do_not_override(toml):
    """A flag left unset (None) does not hide the value from lower sources."""
    path = toml("[queue]\nmax_attempts = 4\n")
    assert load_settings(path, queue=None).queue.max_attempts == 4


def test_empty_environment_variable_is_ignored(toml, monkeypatch):
    """An environment variable set to the empty string does not override the TOML value."""
    path = toml('[mautic]\nbase_url = "https://toml.example.com"\n')
    monkeypatch.setenv("MAUTIC_BASE_URL", "")
    assert load_settings(path).mautic.base_url == "https://toml.example.com"


def test_config_file_found_through_env_and_default_path(isolation, monkeypatch, tmp_path):
    """MAUTIC_CTL_CONFIG names the file; otherwise the per-user default path is used if it exists."""
    default = isolation / ".config" / "mautic-ctl" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text("[queue]\nmax_attempts = 3\n")
    default.chmod(0o600)
    assert load_settings().queue.max_attempts == 3
    other = tmp_path / "other.toml"
    other.write_text("[queue]\nmax_attempts = 6\n")
    other.chmod(0o600)
    monkeypatch.setenv("MAUTIC_CTL_CONFIG", str(other))
    assert load_settings().queue.max_attempts == 6
    assert load_settings(default).queue.max_attempts == 3


# --- the fixed environment names ------------------------------------------------------------------

ENV_VALUES = {
    "mautic.base_url": ("https://m.example.com/", "https://m.example.com"),
    "queue.db": ("/srv/q.db", Path("/srv/q.db")),
}


@pytest.mark.parametrize(("env", "path"), sorted(ENV_NAMES.items()))
def test_every_environment_name_sets_its_setting(env, path, monkeypatch):
    """Each fixed environment name lands on its dotted setting (ids as ints, secrets as SecretStr)."""
    raw, expected = ENV_VALUES.get(
        path, ("42", 42) if path.startswith(("segments", "campaigns")) else ("v-" + env, "v-" + env)
    )
    monkeypatch.setenv(env, raw)
    value = dotted(load_settings(), path)
    if isinstance(value, SecretStr):
        assert value.get_secret_value() == expected
    else:
        assert value == expected


def test_seed_segment_and_campaign_names_map_to_the_rules_keys(monkeypatch):
    """The seed's MAUTIC_*_SEGMENT_ID / _CAMPAIGN_ID variables become the logical keys the rules use."""
    for n, env in enumerate(e for e in ENV_NAMES if e.endswith(("_SEGMENT_ID", "_CAMPAIGN_ID"))):
        monkeypatch.setenv(env, str(100 + n))
    s = load_settings()
    assert s.segment_refs() == {
        NEW_USERS: 100, tier_segment("free"): 101, tier_segment("pro"): 102,
        tier_segment("enterprise"): 103, CHURNED: 104,
    }  # fmt: skip
    assert s.campaign_refs() == {
        WELCOME: 105, onboarding("pro"): 106, onboarding("enterprise"): 107, RETENTION: 108, WINBACK: 109,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", 12), ("0012", 12), ("Pro users", "Pro users"), ("²", "²"), ("١٢", 12)]
)
def test_env_reference_is_an_id_when_digits_else_a_name(raw, expected, monkeypatch):
    """A reference from the environment is an id when it is digits, else a name (never a crash, even for "²")."""
    monkeypatch.setenv("MAUTIC_PRO_TIER_SEGMENT_ID", raw)
    assert load_settings().segment_refs() == {tier_segment("pro"): expected}


def test_refs_by_id_or_name_from_toml(toml):
    """Segments and campaigns may be given by Mautic id or by name; both are kept as given."""
    path = toml(
        '[segments]\npro = 12\nfree = "Free users"\nnew_users = "12"\n'
        '[campaigns]\nwelcome = "Welcome series"\nwinback = 9\n[campaigns.onboarding]\nenterprise = "Ent onboarding"\n'
    )
    s = load_settings(path)
    assert s.segment_refs() == {tier_segment("pro"): 12, tier_segment("free"): "Free users", NEW_USERS: "12"}
    assert s.campaign_refs() == {WELCOME: "Welcome series", WINBACK: 9, onboarding("enterprise"): "Ent onboarding"}


# --- derived views --------------------------------------------------------------------------------


def test_policy_reflects_tiers_and_configured_keys(toml):
    """policy() carries the tier order, the cancel tier and which segments/campaigns exist."""
    path = toml(
        '[lifecycle]\ntiers = ["Basic", "Team"]\ncancel_tier = "basic"\n'
        "[segments]\nchurned = 3\nteam = 4\n[campaigns]\nretention = 8\n"
    )
    policy = load_settings(path).policy()
    assert policy.tiers == ("basic", "team") and policy.cancel_tier == "basic"
    assert policy.segments == frozenset({CHURNED, tier_segment("team")})
    assert policy.campaigns == frozenset({RETENTION})


def test_vocabulary_has_the_standard_and_the_configured_fields(toml):
    """vocabulary() lists the tiers and the five standard fields plus typed custom ones."""
    path = toml(
        '[fields]\nscore = "number"\n[fields.plan_kind]\ntype = "select"\nchoices = ["monthly", "yearly"]\n'
        "[fields.nickname]\nmax_length = 20\n"
    )
    vocab = load_settings(path).vocabulary()
    assert vocab.tiers == ("free", "pro", "enterprise")
    assert vocab.fields == {
        "subscription_tier": FieldSpec("subscription_tier"),
        "subscription_status": FieldSpec("subscription_status"),
        "signup_date": FieldSpec("signup_date", FieldType.DATE),
        "last_login": FieldSpec("last_login", FieldType.DATETIME),
        "lifetime_value": FieldSpec("lifetime_value", FieldType.NUMBER),
        "score": FieldSpec("score", FieldType.NUMBER),
        "plan_kind": FieldSpec("plan_kind", FieldType.SELECT, 64, ("monthly", "yearly")),
        "nickname": FieldSpec("nickname", FieldType.TEXT, 20),
    }


def test_base_url_is_normalised():
    """Trailing slashes and a trailing /api are dropped from the Mautic URL."""
    for raw in ("https://m.example.com/", "https://m.example.com/api", " https://m.example.com/api/ "):
        assert load_settings(mautic={"base_url": raw}).mautic.base_url == "https://m.example.com"


# --- errors ---------------------------------------------------------------------------------------


def test_invalid_toml_names_the_file_and_position(toml):
    """A file that is not TOML is a ConfigError naming the file, line and column."""
    path = toml('[mautic]\nbase_url = "https://x"\npassword = "' + SECRET + "\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = config_error(exc)
    assert message.startswith(f"config file {path} is not valid TOML (")
    assert "line 3" in message


def test_missing_config_file_is_a_config_error(tmp_path):
    """An explicit --config that does not exist is reported as such."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert config_error(exc) == f"config file {path} does not exist; create it or drop --config."


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("colour = 1\n", "colour", "unknown section or key"),
        ('[mautic]\npasword = "' + SECRET + '"\n', "mautic.pasword", "unknown key"),
        (
            '[mautic]\nbase_url = "ftp://user:' + SECRET + '@host"\n',
            "mautic.base_url",
            "must start with http:// or https://",
        ),
        ('[mautic]\npassword = ["' + SECRET + '"]\n', "mautic.password", "must be a text"),
        ('[mautic]\ntimeout = "' + SECRET + '"\n', "mautic.timeout", "must be a number"),
        ("[queue]\nmax_attempts = 0\n", "queue.max_attempts", "must be at least 1"),
        ("[mautic]\nbatch_limit = 500\n", "mautic.batch_limit", "must be at most 200"),
        ('[lifecycle]\ntiers = ["free", "Free"]\n', "lifecycle.tiers", "tiers must be distinct"),
        ('[lifecycle]\ntiers = ["free", "cancelled"]\n', "lifecycle.tiers", "not 'cancelled'"),
    ],
)
def test_invalid_setting_names_the_key_not_the_value(toml, text, where, problem):
    """An unknown key or bad value is one sentence naming the dotted key and the file, never the value."""
    path = toml(text)
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    message = config_error(exc)
    assert message.startswith(f"setting {where!r} (from {path} or the environment) is invalid: ")
    assert problem in message
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_bad_url_from_the_environment_is_a_config_error(monkeypatch):
    """MAUTIC_BASE_URL without http(s):// is refused, and its value (which may hold a password) is not echoed."""
    monkeypatch.setenv("MAUTIC_BASE_URL", f"mautic.example.com?token={SECRET}")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert config_error(exc) == "setting 'mautic.base_url' is invalid: must start with http:// or https://."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[lifecycle]\ncancel_tier = "gold"\n',
            "lifecycle.cancel_tier 'gold' is not one of ['free', 'pro', 'enterprise'].",
        ),
        (
            "[segments]\ngold = 1\n",
            "[segments] has unknown key 'gold'; use one of: new_users, churned, free, pro, enterprise.",
        ),
        ("[campaigns.onboarding]\ngold = 1\n", "[campaigns.onboarding] names unknown tier 'gold'."),
        ('[stripe.tiers]\nprice_123 = "gold"\n', "billing tier map sends 'price_123' to unknown tier 'gold'."),
        ('[lemonsqueezy.tiers]\n"301111" = "gold"\n', "billing tier map sends '301111' to unknown tier 'gold'."),
    ],
)
def test_unknown_tier_in_a_map_is_a_config_error(toml, text, expected):
    """Every map keyed or valued by tier must use configured tiers."""
    with pytest.raises(ConfigError) as exc:
        load_settings(toml(text))
    assert config_error(exc) == expected


def test_invalid_flag_is_a_config_error():
    """A bad value given as a flag is reported like one from a file."""
    with pytest.raises(ConfigError) as exc:
        load_settings(queue={"lease": -5})
    assert config_error(exc) == "setting 'queue.lease' is invalid: must be greater than 0."


def test_config_readable_by_others_is_warned_about(toml):
    """A config file readable by group or others triggers a warning with the chmod fix."""
    path = toml('[mautic]\npassword = "x"\n', mode=0o644)
    with pytest.warns(UserWarning, match=r"readable by other users; it may hold secrets: chmod 600"):
        load_settings(path)


def test_private_config_is_not_warned_about(toml):
    """A 0600 config file loads without any warning."""
    path = toml('[mautic]\npassword = "x"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_settings(path).mautic.password.get_secret_value() == "x"


# --- require_mautic -------------------------------------------------------------------------------


def test_require_mautic_needs_a_url():
    """Without a URL, require_mautic says which variable or key to set."""
    with pytest.raises(ConfigError) as exc:
        load_settings(mautic={"username": "u", "password": "p"}).require_mautic()
    assert config_error(exc) == "no Mautic URL configured; set MAUTIC_BASE_URL or [mautic] base_url."


@pytest.mark.parametrize(
    "auth", [{}, {"client_id": "id"}, {"client_secret": "sec"}, {"username": "u"}, {"password": "p"}]
)
def test_require_mautic_needs_a_complete_credential_pair(auth):
    """Half a credential pair is no credential: the message names both ways to authenticate."""
    with pytest.raises(ConfigError) as exc:
        load_settings(mautic={"base_url": "https://m.example.com", **auth}).require_mautic()
    assert config_error(exc) == (
        "no Mautic credentials configured; set MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET "
        "(OAuth2, recommended) or MAUTIC_USERNAME and MAUTIC_PASSWORD."
    )


@pytest.mark.parametrize("auth", [{"client_id": "id", "client_secret": "sec"}, {"username": "u", "password": "p"}])
def test_require_mautic_accepts_oauth2_or_basic(auth):
    """Either complete pair gives back the Mautic settings."""
    s = load_settings(mautic={"base_url": "https://m.example.com", **auth})
    assert s.require_mautic() is s.mautic


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_are_secretstr_and_never_shown(toml, monkeypatch):
    """Every secret is a SecretStr whose value appears in no repr, str or JSON dump of the settings."""
    path = toml(
        f'[mautic]\nclient_secret = "{SECRET}-cs"\n[stripe]\nwebhook_secret = "{SECRET}-wh"\n'
        f'[lemonsqueezy]\nsigning_secret = "{SECRET}-ls"\n'
    )
    monkeypatch.setenv("MAUTIC_PASSWORD", f"{SECRET}-pw")
    monkeypatch.setenv("MAUTIC_CTL_EVENTS_TOKEN", f"{SECRET}-tok")
    s = load_settings(path)
    secrets = [s.mautic.client_secret, s.mautic.password, s.stripe.webhook_secret, s.lemonsqueezy.signing_secret,
               s.webhook.events_token]  # fmt: skip
    assert all(isinstance(v, SecretStr) for v in secrets)
    assert sorted(v.get_secret_value() for v in secrets) == sorted(
        f"{SECRET}-{k}" for k in ("cs", "pw", "wh", "ls", "tok")
    )
    for shown in (repr(s), str(s), s.model_dump_json(), repr(s.mautic), repr(s.model_dump())):
        assert SECRET not in shown
