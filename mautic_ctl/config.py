"""The one configuration loader: where settings come from, and what a valid configuration is.

Pure Python on purpose (no pydantic): `signup --no-apply` and every backend burst start from here,
and must start fast. The pydantic ``settings.Settings`` is a typed view built on ``normalize`` below,
so the light view (``load_quick``) and the full view accept and reject exactly the same files.

Sources, highest first:

1. command-line flags (a nested dict),
2. the environment: the seed's fixed names (``ENV_NAMES``, e.g. MAUTIC_BASE_URL), then the generic
   override ``MAUTIC_CTL_SECTION__KEY`` (nested with ``__``, e.g. MAUTIC_CTL_QUEUE__BATCH_SIZE=50,
   MAUTIC_CTL_STRIPE__TIERS__price_123=pro), which wins over a fixed name for the same key,
3. the TOML file (--config, else $MAUTIC_CTL_CONFIG, else the user config dir), with the selected
   ``[profiles.NAME]`` section (--profile, else $MAUTIC_CTL_PROFILE) overlaid on its top level,
4. the defaults in ``SCHEMA``, written once.

Nothing else in mautic-ctl reads ``os.environ`` for settings.

Adding a section: add its keys to ``SCHEMA`` (one validator per key, with its default), any rule
spanning keys to ``_cross_check``, and a pydantic model with the same keys in ``settings.py``.
"""

from __future__ import annotations

import math
import os
import re
import stat
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautic_ctl.errors import ConfigError
from mautic_ctl.events import CANCELLED, Event, FieldSpec, FieldType, Vocabulary

APP_NAME = "mautic-ctl"
ENV_CONFIG = "MAUTIC_CTL_CONFIG"
ENV_DB = "MAUTIC_CTL_DB"
ENV_PROFILE = "MAUTIC_CTL_PROFILE"
ENV_DEBUG = "MAUTIC_CTL_DEBUG"
ENV_PREFIX = "MAUTIC_CTL_"
"""Generic overrides: MAUTIC_CTL_<SECTION>__<KEY>[__<KEY>…]; the ``__`` tells them from the fixed names."""

DEFAULT_TIERS = ("free", "pro", "enterprise")
DEFAULT_FIELDS: dict[str, FieldType] = {
    "subscription_tier": FieldType.TEXT,
    "subscription_status": FieldType.TEXT,
    "signup_date": FieldType.DATE,
    "last_login": FieldType.DATETIME,
    "lifetime_value": FieldType.NUMBER,
}
"""The five fields the lifecycle rules write; always writable."""

MAX_FIELD_LENGTH = 191
"""The longest text field Mautic's contact table holds (VARCHAR(191))."""

# Environment variable -> dotted settings path. The seed's MAUTIC_*_ID names work as they are.
ENV_NAMES: dict[str, str] = {
    "MAUTIC_BASE_URL": "mautic.base_url",
    "MAUTIC_USERNAME": "mautic.username",
    "MAUTIC_PASSWORD": "mautic.password",
    "MAUTIC_CLIENT_ID": "mautic.client_id",
    "MAUTIC_CLIENT_SECRET": "mautic.client_secret",
    "MAUTIC_CTL_DB": "queue.db",
    "MAUTIC_NEW_USERS_SEGMENT_ID": "segments.new_users",
    "MAUTIC_FREE_TIER_SEGMENT_ID": "segments.free",
    "MAUTIC_PRO_TIER_SEGMENT_ID": "segments.pro",
    "MAUTIC_ENTERPRISE_TIER_SEGMENT_ID": "segments.enterprise",
    "MAUTIC_CHURNED_SEGMENT_ID": "segments.churned",
    "MAUTIC_WELCOME_CAMPAIGN_ID": "campaigns.welcome",
    "MAUTIC_PRO_ONBOARDING_CAMPAIGN_ID": "campaigns.onboarding.pro",
    "MAUTIC_ENTERPRISE_ONBOARDING_CAMPAIGN_ID": "campaigns.onboarding.enterprise",
    "MAUTIC_RETENTION_CAMPAIGN_ID": "campaigns.retention",
    "MAUTIC_WINBACK_CAMPAIGN_ID": "campaigns.winback",
    "MAUTIC_CTL_STRIPE_WEBHOOK_SECRET": "stripe.webhook_secret",
    "MAUTIC_CTL_LEMONSQUEEZY_SIGNING_SECRET": "lemonsqueezy.signing_secret",
    "MAUTIC_CTL_EVENTS_TOKEN": "webhook.events_token",
    "MAUTIC_CTL_DASHBOARD_TOKEN": "dashboard.token",
}

Ref = int | str
"""A segment or campaign: its Mautic id, or its name / alias (resolved through the API, then cached)."""


class Invalid(ValueError):
    """One value is not acceptable; the message says why, never echoing the value (it may be a secret)."""


class EnvText(str):
    """A value that came from the environment, where everything is text: digits may mean an id."""


# --- pure validators: value in, normalised value out, or Invalid --------------------------------------


def text(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a text")
    return str(value)


def duration(value: object) -> float:
    """``3d``, ``12h``, ``90m``, ``45s`` or plain seconds, as seconds."""
    from mautic_ctl.durations import parse_duration
    from mautic_ctl.errors import InputError

    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except InputError:
        raise Invalid("must be a duration such as 3d, 12h, 90m or 45s") from None


def optional(check: Callable[[object], Any]) -> Callable[[object], Any]:
    """``check`` for a key whose default is "not set" (None)."""

    def run(value: object) -> Any:
        return None if value is None else check(value)

    return run


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise Invalid("must be true or false")


_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[object], int]:
    def run(value: object) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise Invalid("must be a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("must be a whole number")
        _bounds(value, lo, hi)
        return value

    return run


def number(gt: float | None = None, ge: float | None = None) -> Callable[[object], float]:
    def run(value: object) -> float:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise Invalid("must be a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid("must be a number")
        if gt is not None and not value > gt:
            raise Invalid(f"must be greater than {gt:g}")
        _bounds(value, ge, None)
        return float(value)

    return run


def _bounds(value: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and value < lo:
        raise Invalid(f"must be at least {lo:g}")
    if hi is not None and value > hi:
        raise Invalid(f"must be at most {hi:g}")


def choice(*allowed: str) -> Callable[[object], str]:
    """One of ``allowed``, compared case-insensitively (normalised to lower case)."""

    def run(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in allowed:
            return value.strip().lower()
        raise Invalid(f"must be one of: {', '.join(allowed)}")

    return run


def path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    raise Invalid("must be a file path")


def url(value: object) -> str:
    """Mautic's root URL: http(s), no trailing slash, no trailing /api."""
    if not isinstance(value, str):
        raise Invalid("must be a text")
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise Invalid("must start with http:// or https://")
    return value.removesuffix("/api")


def ref(value: object) -> Ref:
    """A Mautic id (a positive whole number) or a name. From the environment, digits are an id."""
    if isinstance(value, EnvText):
        value = value.strip()
        if value.isdecimal():  # "١٢" is an id; "²" (a digit to isdigit(), not to int()) a name
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid("must be a Mautic id (a number) or a name")
    if isinstance(value, int) and value < 1:
        raise Invalid("must be a positive Mautic id")
    if isinstance(value, str):
        if not value.strip():
            raise Invalid("must be a Mautic id (a number) or a name")
        return str(value).strip()
    return value


def tier_name(value: object) -> str:
    name = text(value).strip().lower()
    if not name:
        raise Invalid("must be a tier name")
    return name


def tiers(value: object) -> list[str]:
    """Plan tiers, lowest first: distinct, non-empty, compared lower-case, never 'cancelled'."""
    if isinstance(value, str):  # from the environment: "free,pro,enterprise"
        value = value.split(",")
    if not isinstance(value, list | tuple) or not value or not all(isinstance(t, str) for t in value):
        raise Invalid("must be a non-empty list of tier names")
    cleaned = [t.strip().lower() for t in value]
    if not all(cleaned) or len(set(cleaned)) != len(cleaned) or CANCELLED in cleaned:
        raise Invalid(f"tiers must be distinct, non-empty, and not {CANCELLED!r}")
    return cleaned


def field_spec(alias: str, spec: object) -> FieldSpec:
    """A custom field: a type name, or a table {type, max_length (1-191), choices}."""
    if isinstance(spec, FieldSpec):
        return spec
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise Invalid("use a type name or a table {type = ..., max_length = ..., choices = [...]}")
    unknown = set(spec) - {"type", "max_length", "choices"}
    if unknown:
        raise Invalid(f"unknown key {sorted(unknown)[0]!r} (use type, max_length, choices)")
    try:
        ftype = FieldType(str(spec.get("type", "text")).strip().lower())
    except ValueError:
        raise Invalid(f"type must be one of: {', '.join(t.value for t in FieldType)}") from None
    max_length = integer(1, MAX_FIELD_LENGTH)(spec.get("max_length", 64))
    choices = spec.get("choices", [])
    if not isinstance(choices, list | tuple) or not all(isinstance(c, str) and c for c in choices):
        raise Invalid("choices must be a list of texts")
    return FieldSpec(alias, ftype, max_length, tuple(choices))


def field_table(value: object) -> dict[str, FieldSpec]:
    out = {}
    for alias, spec in _table(value).items():
        try:
            out[alias] = field_spec(alias, spec)
        except Invalid as exc:
            raise Invalid(exc.args[0], alias, *exc.args[1:]) from None
    return out


def one_of(*choices: str) -> Callable[[object], str]:
    def run(value: object) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise Invalid(f"must be one of: {', '.join(choices)}")
        return value.strip().lower()

    return run


def tables(value: object) -> list[dict[str, Any]]:
    """A list of TOML tables (``[[track]]``); each table's keys are checked in ``_cross_check``."""
    if not isinstance(value, list | tuple) or not all(isinstance(t, Mapping) for t in value):
        raise Invalid("must be a list of tables (write each one as [[section]])")
    return [dict(t) for t in value]


def mapping(check: Callable[[object], Any]) -> Callable[[object], dict[str, Any]]:
    """A table of free keys (segment names, price ids, tiers …), each value checked by ``check``."""

    def run(value: object) -> dict[str, Any]:
        out = {}
        for key, item in _table(value).items():
            try:
                out[str(key)] = check(item)
            except Invalid as exc:
                raise Invalid(exc.args[0], str(key), *exc.args[1:]) from None
        return out

    return run


def _table(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid("must be a table")
    return value


_EXPERIMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ARM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_FIELD_ALIAS = re.compile(r"^[a-z][a-z0-9_]{0,24}$")
HOLDOUT = "none"
"""An arm's campaign for a holdout: its users enter no campaign for the experiment's slot."""


def experiment(value: object) -> dict[str, Any]:
    """One [[experiments]] table: name, slot, arms (name, campaign or "none", weight), field, active.

    Normalised: a holdout's campaign becomes None, the field defaults to exp_<name>.
    """
    table = _table(value)
    unknown = set(table) - {"name", "slot", "arms", "field", "active"}
    if unknown:
        raise Invalid(f"unknown key {sorted(unknown)[0]!r} (use name, slot, arms, field, active)")
    name = text(table.get("name", "")).strip()
    if not _EXPERIMENT_NAME.match(name):
        raise Invalid("name must be 1-40 lower-case letters, digits, '-' or '_'")
    slot = text(table.get("slot", "")).strip()
    if not slot:
        raise Invalid("slot must name a campaign slot (welcome, retention, winback, onboarding:<tier>)")
    alias = table.get("field") or f"exp_{name.replace('-', '_')}"[:25]
    if not isinstance(alias, str) or not _FIELD_ALIAS.match(alias):
        raise Invalid("field must be a contact field alias (lower-case letters, digits, '_'; at most 25)")
    arms = table.get("arms")
    if not isinstance(arms, list | tuple) or len(arms) < 2:
        raise Invalid("arms must be a list of at least two {name, campaign, weight} tables")
    out_arms = [_arm(arm) for arm in arms]
    names = [a["name"] for a in out_arms]
    if len(set(names)) != len(names):
        raise Invalid("arm names must be distinct")
    if sum(a["campaign"] is None for a in out_arms) > 1:
        raise Invalid('at most one arm may be the holdout (campaign = "none")')
    return {"name": name, "slot": slot, "arms": out_arms, "field": alias, "active": boolean(table.get("active", True))}


def _arm(value: object) -> dict[str, Any]:
    table = _table(value)
    unknown = set(table) - {"name", "campaign", "weight"}
    if unknown:
        raise Invalid(f"unknown arm key {sorted(unknown)[0]!r} (use name, campaign, weight)")
    name = text(table.get("name", "")).strip()
    if not _ARM_NAME.match(name):
        raise Invalid("an arm's name must be 1-32 letters, digits, '-' or '_'")
    if "campaign" not in table:
        raise Invalid(f'arm {name!r} needs a campaign (an id, a name, or "none" for the holdout)')
    campaign = table["campaign"]
    holdout = campaign is None or (isinstance(campaign, str) and campaign.strip().lower() == HOLDOUT)
    campaign = None if holdout else ref(campaign)
    weight = number(gt=0)(table.get("weight", 1.0))
    return {"name": name, "campaign": campaign, "weight": weight}


def experiment_list(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        raise Invalid("must be a list of [[experiments]] tables")
    out = []
    for index, item in enumerate(value):
        try:
            out.append(experiment(item))
        except Invalid as exc:
            raise Invalid(exc.args[0], str(index), *exc.args[1:]) from None
    return out


# --- the schema: every section, every key, its validator and its default -----------------------------


@dataclass(frozen=True, slots=True)
class Key:
    check: Callable[[object], Any]
    default: Any = None
    factory: Callable[[], Any] | None = None

    def initial(self) -> Any:
        return self.factory() if self.factory is not None else self.default


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "queue.db"


_PROVIDER = {
    "webhook_secret": Key(optional(text)),
    "signing_secret": Key(optional(text)),
    "tolerance": Key(integer(1), 300),
    "tiers": Key(mapping(tier_name), factory=dict),
    "api_key": Key(optional(text)),
}

SCHEMA: dict[str, dict[str, Key] | Key] = {
    "mautic": {
        "base_url": Key(optional(url)),
        "client_id": Key(optional(text)),
        "client_secret": Key(optional(text)),
        "username": Key(optional(text)),
        "password": Key(optional(text)),
        "timeout": Key(number(gt=0), 10.0),
        "verify_tls": Key(boolean, True),
        "max_connections": Key(integer(1, 100), 8),
        "http_retries": Key(integer(1, 10), 3),
        "batch_limit": Key(integer(1, 200), 200),
    },
    "queue": {
        "db": Key(path, factory=default_db_path),
        "max_attempts": Key(integer(1), 10),
        "backoff_base": Key(number(gt=0), 30.0),
        "backoff_max": Key(number(gt=0), 3600.0),
        "lease": Key(number(gt=0), 300.0),
        "batch_size": Key(integer(1, 5000), 200),
        "concurrency": Key(integer(1, 64), 8),
        "cache_ttl": Key(number(ge=0), 3600.0),
    },
    "lifecycle": {
        "tiers": Key(tiers, factory=lambda: list(DEFAULT_TIERS)),
        "cancel_tier": Key(tier_name, DEFAULT_TIERS[0]),
        "on_delete": Key(one_of("delete", "anonymise"), "delete"),
        "on_email_conflict": Key(one_of("dead", "skip"), "dead"),
    },
    "segments": Key(mapping(ref), factory=dict),
    "campaigns": {
        "welcome": Key(optional(ref)),
        "retention": Key(optional(ref)),
        "winback": Key(optional(ref)),
        "onboarding": Key(mapping(ref), factory=dict),
    },
    "fields": Key(field_table, factory=dict),
    "track": Key(tables, factory=list),
    "stripe": _PROVIDER,
    "lemonsqueezy": _PROVIDER,
    "billing": {
        "email_from_billing": Key(boolean, False),
        "accept_test_mode": Key(boolean, False),
        "wait": Key(duration, 3 * 86400.0),
    },
    "webhook": {
        "host": Key(text, "127.0.0.1"),
        "port": Key(integer(1, 65535), 8787),
        "events_token": Key(optional(text)),
    },
    "dashboard": {
        "host": Key(text, "127.0.0.1"),
        "port": Key(integer(1, 65535), 8788),
        "token": Key(optional(text)),
        "trusted_user_header": Key(optional(text)),
        "read_only": Key(boolean, False),
    },
    "identity": {
        "on_shared_contact": Key(choice("adopt", "refuse"), "adopt"),
    },
    "experiments": Key(experiment_list, factory=list),
}
"""Section -> its keys (or one Key for a section of free keys). The defaults are written here only."""

SECRET_KEYS = frozenset(
    {
        "mautic.client_secret",
        "mautic.password",
        "stripe.webhook_secret",
        "stripe.signing_secret",
        "lemonsqueezy.webhook_secret",
        "lemonsqueezy.signing_secret",
        "stripe.api_key",
        "lemonsqueezy.api_key",
        "webhook.events_token",
        "dashboard.token",
    }
)
"""Dotted keys whose values are secrets: kept out of every message (see ``Config.secrets``)."""


def normalize(data: Mapping[str, Any], origin: Path | None = None) -> dict[str, Any]:
    """The validated configuration with every default filled in, or a one-line ConfigError.

    The single definition of a valid configuration: the light and the full view both call it.
    Idempotent: its output is accepted again unchanged.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a table of sections.")
    out: dict[str, Any] = {}
    for name in data:
        if name not in SCHEMA:
            raise _fail(str(name), "unknown section or key", origin) from None
    for name, spec in SCHEMA.items():
        given = data.get(name)
        if isinstance(spec, Key):
            try:
                out[name] = spec.initial() if given is None else spec.check(given)
            except Invalid as exc:
                raise _fail(_where(name, exc), str(exc.args[0]), origin) from None
            continue
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            raise _fail(name, "must be a table", origin) from None
        section: dict[str, Any] = {}
        for key in given:
            if key not in spec:
                raise _fail(f"{name}.{key}", "unknown key", origin) from None
        for key, rule in spec.items():
            value = given.get(key)
            try:
                section[key] = rule.initial() if value is None else rule.check(value)
            except Invalid as exc:
                raise _fail(_where(f"{name}.{key}", exc), str(exc.args[0]), origin) from None
        out[name] = section
    _cross_check(out)
    return out


def _where(prefix: str, exc: Invalid) -> str:
    return ".".join([prefix, *(str(a) for a in exc.args[1:])])


def _fail(where: str, problem: str, origin: Path | None) -> ConfigError:
    source = f" (from {origin} or the environment)" if origin else ""
    return ConfigError(f"setting {where!r}{source} is invalid: {problem}.")


def _cross_check(cfg: Mapping[str, Any]) -> None:
    """Rules spanning keys: every map keyed or valued by tier names configured tiers."""
    tier_list = cfg["lifecycle"]["tiers"]
    cancel_tier = cfg["lifecycle"]["cancel_tier"]
    if cancel_tier not in tier_list:
        raise ConfigError(f"lifecycle.cancel_tier {cancel_tier!r} is not one of {tier_list}.")
    allowed = ("new_users", "churned", *tier_list)
    for name in cfg["segments"]:
        if name not in allowed:
            raise ConfigError(f"[segments] has unknown key {name!r}; use one of: {', '.join(allowed)}.")
    for tier in cfg["campaigns"]["onboarding"]:
        if tier not in tier_list:
            raise ConfigError(f"[campaigns.onboarding] names unknown tier {tier!r}.")
    for provider in ("stripe", "lemonsqueezy"):
        for key, tier in cfg[provider]["tiers"].items():
            if tier not in tier_list:
                raise ConfigError(f"billing tier map sends {key!r} to unknown tier {tier!r}.")
    _check_experiments(cfg["experiments"], tier_list)
    track_rules(cfg)


def _check_experiments(experiments: list[dict[str, Any]], tier_list: list[str]) -> None:
    """One experiment per slot and per name; slots the rules have; arm fields apart from the rules' own."""
    slots = {"welcome", "retention", "winback", *(f"onboarding:{t}" for t in tier_list)}
    names: set[str] = set()
    taken: set[str] = set()
    for exp in experiments:
        where = f"[[experiments]] {exp['name']!r}"
        if exp["slot"] not in slots:
            raise ConfigError(f"{where} has slot {exp['slot']!r}; use one of: {', '.join(sorted(slots))}.")
        if exp["name"] in names:
            raise ConfigError(f"{where} is configured twice; give each experiment its own name.")
        if exp["slot"] in taken:
            raise ConfigError(f"{where}: another experiment already takes over slot {exp['slot']!r}; one per slot.")
        if exp["field"] in DEFAULT_FIELDS:
            raise ConfigError(f"{where} would write its arm into {exp['field']!r}; choose another field.")
        names.add(exp["name"])
        taken.add(exp["slot"])


def track_rules(cfg: Mapping[str, Any]) -> tuple[Any, ...]:
    """The `[[track]]` tables as mappings (track.TrackRule), or a one-line ConfigError naming the table."""
    from mautic_ctl.track import TrackConfigError, parse_track_rules  # pure; only a config with tables

    if not cfg["track"]:
        return ()
    try:
        return parse_track_rules(cfg["track"], field_specs(cfg["fields"]))
    except TrackConfigError as exc:
        raise ConfigError(str(exc)) from None


# --- derived views, shared by the light and the full configuration -----------------------------------


def field_specs(fields: Mapping[str, FieldSpec | FieldType | Any]) -> dict[str, FieldSpec]:
    """The default fields plus the configured ones (a configured alias may refine a default)."""
    specs = {alias: FieldSpec(alias, ftype) for alias, ftype in DEFAULT_FIELDS.items()}
    for alias, spec in fields.items():
        specs[alias] = spec if isinstance(spec, FieldSpec) else field_spec(alias, spec)
    return specs


def vocabulary(cfg: Mapping[str, Any]) -> Vocabulary:
    return Vocabulary(tuple(cfg["lifecycle"]["tiers"]), field_specs(cfg["fields"]))


def check_mautic(base_url: str | None, *, oauth2: bool, basic: bool) -> None:
    """ConfigError unless a Mautic URL and one complete set of credentials are configured."""
    if not base_url:
        raise ConfigError("no Mautic URL configured; set MAUTIC_BASE_URL or [mautic] base_url.")
    if not base_url.strip().startswith(("http://", "https://")):
        raise ConfigError("the Mautic URL (MAUTIC_BASE_URL or [mautic] base_url) must start with http:// or https://.")
    if not (oauth2 or basic):
        raise ConfigError(
            "no Mautic credentials configured; set MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET "
            "(OAuth2, recommended) or MAUTIC_USERNAME and MAUTIC_PASSWORD."
        )


def secrets_of(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """Every configured secret value (for redaction, see ``redact``), longest first."""
    found = []
    for dotted in SECRET_KEYS:
        section, key = dotted.split(".")
        value = (cfg.get(section) or {}).get(key)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, str) and value:
            found.append(value)
    return tuple(sorted(set(found), key=len, reverse=True))


# --- sources ------------------------------------------------------------------------------------------


def config_path(explicit: Path | None) -> Path | None:
    """--config, else MAUTIC_CTL_CONFIG, else the default path if that file exists."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    default = default_config_path()
    return default if default.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    """The config file's contents; ConfigError if unreadable; a warning if others can read it."""
    import tomllib  # only when there is a file: env-only deployments (and bursts) never pay for it

    try:
        mode = path.stat().st_mode
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it or drop --config.") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory; give the path of a TOML file.") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}).") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(
            f"config file {path} is readable by other users; it may hold secrets: chmod 600 {path}",
            stacklevel=2,
        )
    return data


def select_profile(data: Mapping[str, Any], profile: str | None, origin: Path | None) -> dict[str, Any]:
    """The file's top level with ``[profiles.NAME]`` overlaid (key by key); the profiles table dropped."""
    profiles = data.get("profiles", {})
    base = {k: v for k, v in data.items() if k != "profiles"}
    if not isinstance(profiles, Mapping):
        raise _fail("profiles", "must be a table of [profiles.NAME] sections", origin) from None
    if not profile:
        return base
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        where = f"in {origin}" if origin else "(no config file)"
        raise ConfigError(f"profile {profile!r} is not defined {where}; defined profiles: {known}.")
    overlay = profiles[profile]
    if not isinstance(overlay, Mapping):
        raise _fail(f"profiles.{profile}", "must be a table", origin) from None
    if "profiles" in overlay:
        raise _fail(f"profiles.{profile}.profiles", "profiles cannot be nested", origin) from None
    return merge(base, overlay)


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """The environment as a nested dict: the fixed names first, the generic MAUTIC_CTL_A__B over them."""
    out: dict[str, Any] = {}
    for env, dotted in ENV_NAMES.items():
        value = environ.get(env)
        if value:
            _put(out, dotted.split("."), EnvText(value))
    for env in sorted(environ):
        if env.startswith(ENV_PREFIX) and "__" in env and environ[env] != "":
            _put(out, generic_path(env[len(ENV_PREFIX) :]), EnvText(environ[env]))
    return out


CASE_KEPT = frozenset({("stripe", "tiers"), ("lemonsqueezy", "tiers")})
"""Tables whose keys are someone else's ids (a Stripe price id is case-sensitive): kept as written."""


def generic_path(name: str) -> list[str]:
    """SECTION__KEY__SUB -> [section, key, sub], lower-cased as every mautic-ctl name is; the keys of
    the CASE_KEPT tables (e.g. MAUTIC_CTL_STRIPE__TIERS__price_1AbC) keep their case."""
    parts = name.split("__")
    out: list[str] = []
    for part in parts:
        out.append(part if tuple(out) in CASE_KEPT else part.lower())
    return out


def _put(tree: dict[str, Any], dotted: list[str], value: Any) -> None:
    node = tree
    for part in dotted[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[dotted[-1]] = value


def merge(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """``high`` over ``low``, table by table; ``None`` in ``high`` (an unset flag) changes nothing."""
    out = dict(low)
    for key, value in high.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Loaded:
    """The merged, validated configuration (plain values) and where its file came from."""

    data: dict[str, Any]
    path: Path | None
    profile: str | None = None


def gather(
    config: Path | None = None, profile: str | None = None, flags: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Path | None, str | None]:
    """Every source merged by precedence, not yet validated."""
    path = config_path(Path(config) if config is not None else None)
    data = read_toml(path) if path is not None else {}
    profile = profile or os.environ.get(ENV_PROFILE) or None
    merged = select_profile(data, profile, path)
    merged = merge(merged, env_overrides(os.environ))
    return merge(merged, flags or {}), path, profile


def load(config: Path | None = None, profile: str | None = None, flags: Mapping[str, Any] | None = None) -> Loaded:
    raw, path, profile = gather(config, profile, flags)
    loaded = Loaded(normalize(raw, path), path, profile)
    remember_secrets(loaded.data)
    return loaded


def remember_secrets(cfg: Mapping[str, Any]) -> None:
    """Every configured secret is masked in whatever this process prints or stores from now on."""
    from mautic_ctl import redact

    m = cfg.get("mautic") or {}
    password = m.get("password")
    password = password.get_secret_value() if hasattr(password, "get_secret_value") else password
    redact.remember(secrets_of(cfg), (m.get("username") or "", password) if password else None)


def debug_enabled() -> bool:
    return os.environ.get(ENV_DEBUG, "") not in ("", "0", "false")


# --- the light view -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuickConfig:
    """What a record-only command needs; validated exactly as the full settings are."""

    db: Path
    vocabulary: Vocabulary
    base_url: str | None = None
    oauth2: bool = False  # client id and secret are both set; values not kept here
    basic: bool = False  # username and password are both set
    tier_segments: frozenset[str] = frozenset()  # tiers whose segment is configured
    cancel_tier: str = DEFAULT_TIERS[0]

    def check_expressible(self, event: Event) -> None:
        """Refuse (exit 2, nothing recorded) an event the configuration cannot express."""
        from mautic_ctl.completeness import inexpressible

        why = inexpressible(event, self.vocabulary.tiers, self.cancel_tier, self.tier_segments)
        if why:
            raise ConfigError(why)

    def require_mautic(self) -> None:
        """The same check as ``Settings.require_mautic``, so an unconfigured apply records nothing."""
        check_mautic(self.base_url, oauth2=self.oauth2, basic=self.basic)


def load_quick(config: Path | None = None, db: Path | None = None, profile: str | None = None) -> QuickConfig:
    loaded = load(config, profile, {"queue": {"db": db}} if db is not None else None)
    cfg = loaded.data
    m = cfg["mautic"]
    return QuickConfig(
        cfg["queue"]["db"],
        vocabulary(cfg),
        m["base_url"],
        oauth2=bool(m["client_id"] and m["client_secret"]),
        basic=bool(m["username"] and m["password"]),
        tier_segments=frozenset(t for t in cfg["lifecycle"]["tiers"] if t in cfg["segments"]),
        cancel_tier=cfg["lifecycle"]["cancel_tier"],
    )
