"""The one settings model. Sources, highest first: command-line flags, environment, TOML file, defaults.

Nothing else in mautic-ctl reads ``os.environ``. Secrets are ``SecretStr`` and never printed. The
environment names below are fixed: deployments (and the seed this tool replaces) rely on them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mautic_ctl.config import DEFAULT_FIELDS, check_mautic, config_path, default_db_path, read_toml
from mautic_ctl.errors import ConfigError
from mautic_ctl.events import FieldSpec, FieldType, Vocabulary
from mautic_ctl.rules import (
    CHURNED,
    NEW_USERS,
    RETENTION,
    WELCOME,
    WINBACK,
    Policy,
    onboarding,
    tier_segment,
)

ENV_DEBUG = "MAUTIC_CTL_DEBUG"

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
}

Ref = int | str
"""A segment or campaign: its Mautic id, or its name / alias (resolved through the API, then cached)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MauticSettings(_Section):
    base_url: str | None = None
    """Mautic's root URL, e.g. https://mautic.example.com (no /api)."""
    client_id: str | None = None
    """OAuth2 client id (client_credentials). Recommended: ~0.03 s per request vs ~0.46 s for Basic."""
    client_secret: SecretStr | None = None
    username: str | None = None
    """HTTP Basic user: works, but costs ~0.46 s of Mautic CPU per request (bcrypt on every call)."""
    password: SecretStr | None = None
    timeout: float = Field(10.0, gt=0)
    """Seconds to wait for one Mautic answer."""
    verify_tls: bool = True
    """Check Mautic's TLS certificate. Turning it off (--insecure) is warned about."""
    max_connections: int = Field(8, ge=1, le=100)
    """Size of the shared HTTP connection pool, and the bound on concurrent calls."""
    http_retries: int = Field(3, ge=1, le=10)
    """In-process attempts for an idempotent call before the queue takes over."""
    batch_limit: int = Field(200, ge=1, le=200)
    """Items per batch call; Mautic answers a larger batch with a 500."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.removesuffix("/api")


class QueueSettings(_Section):
    db: Path = Field(default_factory=default_db_path)
    """SQLite file holding the queue, the per-user mirror, the audit log and the id cache."""
    max_attempts: int = Field(10, ge=1)
    """Attempts before a transiently failing event goes dead."""
    backoff_base: float = Field(30.0, gt=0)
    """Seconds: after failed attempt n, wait a random time in [0, min(backoff_max, backoff_base * 2**(n-1))]."""
    backoff_max: float = Field(3600.0, gt=0)
    """Seconds: the cap of one backoff wait."""
    lease: float = Field(300.0, gt=0)
    """Seconds a claimed event stays leased; after that a dead worker's event is due again."""
    batch_size: int = Field(200, ge=1, le=5000)
    """Events claimed per drain round."""
    concurrency: int = Field(8, ge=1, le=64)
    """Calls in flight at once for operations Mautic cannot batch."""
    cache_ttl: float = Field(3600.0, ge=0)
    """Seconds a segment/campaign name resolved to an id stays cached."""


class LifecycleSettings(_Section):
    tiers: list[str] = Field(default_factory=lambda: ["free", "pro", "enterprise"], min_length=1)
    """Plan tiers, lowest first. Signup defaults to the first."""
    cancel_tier: str = "free"
    """The tier a cancelled user falls back to (joins its segment)."""

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[str]) -> list[str]:
        cleaned = [t.strip().lower() for t in value]
        if len(set(cleaned)) != len(cleaned) or "cancelled" in cleaned or not all(cleaned):
            raise ValueError("tiers must be distinct, non-empty, and not 'cancelled'")
        return cleaned


class CampaignSettings(_Section):
    welcome: Ref | None = None
    retention: Ref | None = None
    winback: Ref | None = None
    onboarding: dict[str, Ref] = Field(default_factory=dict)
    """Tier -> its onboarding campaign."""


class FieldSettings(_Section):
    type: FieldType = FieldType.TEXT
    max_length: int = Field(64, ge=1, le=191)
    choices: list[str] = Field(default_factory=list)


class ProviderSettings(_Section):
    webhook_secret: SecretStr | None = None
    """Stripe endpoint secret (whsec_…)."""
    signing_secret: SecretStr | None = None
    """LemonSqueezy signing secret."""
    tolerance: int = Field(300, ge=1)
    """Seconds a Stripe signature timestamp may differ from now."""
    tiers: dict[str, str] = Field(default_factory=dict)
    """Price id / lookup_key / product id (Stripe) or variant id / product id (LemonSqueezy) -> tier."""


class WebhookSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=1, le=65535)
    events_token: SecretStr | None = None
    """Bearer token the product's backend sends to POST /events."""


class Settings(BaseSettings):
    """Everything mautic-ctl can be told; see config.example.toml for each key."""

    model_config = SettingsConfigDict(extra="forbid")

    mautic: MauticSettings = Field(default_factory=MauticSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    segments: dict[str, Ref] = Field(default_factory=dict)
    """Logical segment (new_users, churned, or a tier name) -> id or name."""
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    fields: dict[str, FieldType | FieldSettings] = Field(default_factory=dict)
    """Extra custom fields `sync-contact --set` may write (alias -> type); the five standard ones
    (DEFAULT_FIELDS, which the lifecycle rules write) are always included."""
    stripe: ProviderSettings = Field(default_factory=ProviderSettings)
    lemonsqueezy: ProviderSettings = Field(default_factory=ProviderSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)

    config_file: Path | None = Field(None, exclude=True)
    """Where the TOML came from (for messages only)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, _NamedEnvSource(settings_cls)]
        toml_path = _TOML_PATH.get("path")
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # --- derived views -------------------------------------------------------------------------

    def policy(self) -> Policy:
        return Policy(
            tiers=tuple(self.lifecycle.tiers),
            cancel_tier=self.lifecycle.cancel_tier,
            segments=frozenset(self.segment_refs()),
            campaigns=frozenset(self.campaign_refs()),
        )

    def vocabulary(self) -> Vocabulary:
        return Vocabulary(tiers=tuple(self.lifecycle.tiers), fields=self.field_specs())

    def field_specs(self) -> dict[str, FieldSpec]:
        specs = {}
        for alias, spec in {**DEFAULT_FIELDS, **self.fields}.items():
            if isinstance(spec, FieldType):
                specs[alias] = FieldSpec(alias, spec)
            else:
                specs[alias] = FieldSpec(alias, spec.type, spec.max_length, tuple(spec.choices))
        return specs

    def segment_refs(self) -> dict[str, Ref]:
        """Logical segment key (as the rules name it) -> configured reference."""
        out: dict[str, Ref] = {}
        for name, ref in self.segments.items():
            key = {"new_users": NEW_USERS, "churned": CHURNED}.get(name, tier_segment(name))
            out[key] = ref
        return out

    def campaign_refs(self) -> dict[str, Ref]:
        c = self.campaigns
        out: dict[str, Ref] = {
            key: ref
            for key, ref in ((WELCOME, c.welcome), (RETENTION, c.retention), (WINBACK, c.winback))
            if ref is not None
        }
        out |= {onboarding(tier): ref for tier, ref in c.onboarding.items()}
        return out

    def check_lifecycle(self) -> None:
        """Cross-field checks pydantic cannot express per field."""
        tiers = self.lifecycle.tiers
        if self.lifecycle.cancel_tier not in tiers:
            raise ConfigError(f"lifecycle.cancel_tier {self.lifecycle.cancel_tier!r} is not one of {tiers}.")
        for name in self.segments:
            if name not in (*tiers, "new_users", "churned"):
                allowed = ", ".join(("new_users", "churned", *tiers))
                raise ConfigError(f"[segments] has unknown key {name!r}; use one of: {allowed}.")
        for tier in self.campaigns.onboarding:
            if tier not in tiers:
                raise ConfigError(f"[campaigns.onboarding] names unknown tier {tier!r}.")
        for provider in (self.stripe, self.lemonsqueezy):
            for key, tier in provider.tiers.items():
                if tier not in tiers:
                    raise ConfigError(f"billing tier map sends {key!r} to unknown tier {tier!r}.")

    def require_mautic(self) -> MauticSettings:
        """The Mautic connection settings, or a ConfigError saying what is missing."""
        m = self.mautic
        check_mautic(m.base_url, oauth2=bool(m.client_id and m.client_secret), basic=bool(m.username and m.password))
        return m


class _NamedEnvSource(PydanticBaseSettingsSource):
    """The fixed environment names of ENV_NAMES, as a nested dict for deep merging."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for env, path in ENV_NAMES.items():
            value = os.environ.get(env)
            if value is None or value == "":
                continue
            node = out
            *parents, leaf = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = _ref(value) if path.startswith(("segments", "campaigns")) else value
        return out


def _ref(value: str) -> Ref:
    """Digits are a Mautic id, anything else a name. ("²".isdigit() is True, but int("²") raises,
    and a ValueError raised in a settings source escapes as a crash, not a ConfigError.)"""
    try:
        return int(value) if value.isdigit() else value
    except ValueError:
        return value


_TOML_PATH: dict[str, Path | None] = {"path": None}


def debug_enabled() -> bool:
    return os.environ.get(ENV_DEBUG, "") not in ("", "0", "false")


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are command-line flags as a nested dict (highest precedence)."""
    path = config_path(Path(config) if config is not None else None)
    if path is not None:
        read_toml(path)  # clear errors for a missing or broken file, and the permissions warning
    _TOML_PATH["path"] = path
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    finally:
        _TOML_PATH["path"] = None
    settings.config_file = path
    settings.check_lifecycle()
    return settings


def _describe(exc: ValidationError, path: Path | None) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "settings"
    origin = f" (from {path} or the environment)" if path else ""
    extra = f" and {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else ""
    return f"setting {where!r}{origin} is invalid: {first['msg']}{extra}."
