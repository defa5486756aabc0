"""The typed view of the configuration (pydantic), for everything that talks to Mautic.

Built on ``config.py``, not beside it: discovery, the sources, the defaults and every rule of a valid
configuration live there (``config.normalize``), and a model validator here runs that same function
before pydantic only types the result (secrets become ``SecretStr``, never printed). So the light
view behind `signup --no-apply` and this one accept and reject exactly the same configurations.
The models below repeat the keys (for types and documentation), not their defaults or limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, model_validator

from mautic_ctl import config
from mautic_ctl.completeness import is_off
from mautic_ctl.config import ENV_DEBUG, ENV_NAMES, Ref, check_mautic, debug_enabled
from mautic_ctl.events import FieldSpec, Vocabulary
from mautic_ctl.experiments import Arm, Book, Experiment, arm_key
from mautic_ctl.identity import OnShared
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
from mautic_ctl.track import TrackRule, track_key

__all__ = ["ENV_DEBUG", "ENV_NAMES", "Ref", "Settings", "debug_enabled", "load_settings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class MauticSettings(_Section):
    base_url: str | None
    """Mautic's root URL, e.g. https://mautic.example.com (no /api)."""
    client_id: str | None
    """OAuth2 client id (client_credentials). Recommended: ~0.03 s per request vs ~0.46 s for Basic."""
    client_secret: SecretStr | None
    username: str | None
    """HTTP Basic user: works, but costs ~0.46 s of Mautic CPU per request (bcrypt on every call)."""
    password: SecretStr | None
    timeout: float
    """Seconds to wait for one Mautic answer."""
    verify_tls: bool
    """Check Mautic's TLS certificate. Turning it off (--insecure) is warned about."""
    max_connections: int
    """Size of the shared HTTP connection pool, and the bound on concurrent calls."""
    http_retries: int
    """In-process attempts for an idempotent call before the queue takes over."""
    batch_limit: int
    """Items per batch call; Mautic answers a larger batch with a 500."""

    @property
    def oauth2(self) -> bool:
        """A complete OAuth2 client is configured (it wins over Basic when both are)."""
        return bool(self.client_id and self.client_secret)

    @property
    def basic(self) -> bool:
        return bool(self.username and self.password)


class QueueSettings(_Section):
    db: Path
    """SQLite file holding the queue, the per-user mirror, the audit log and the id cache."""
    max_attempts: int
    """Attempts before a transiently failing event goes dead."""
    backoff_base: float
    """Seconds: after failed attempt n, wait a random time in [0, min(backoff_max, backoff_base * 2**(n-1))]."""
    backoff_max: float
    """Seconds: the cap of one backoff wait (and of any wait a 429 asks for)."""
    lease: float
    """Seconds a claimed event stays leased; after that a dead worker's event is due again."""
    batch_size: int
    """Events claimed per drain round."""
    concurrency: int
    """Calls in flight at once for operations Mautic cannot batch."""
    cache_ttl: float
    """Seconds a segment/campaign name resolved to an id stays cached."""


class LifecycleSettings(_Section):
    tiers: list[str]
    """Plan tiers, lowest first. Signup defaults to the first."""
    cancel_tier: str
    """The tier a cancelled user falls back to (joins its segment)."""
    on_delete: str
    """`delete-user`: "delete" the Mautic contact, or "anonymise": blank its personal fields and keep it."""
    on_email_conflict: str
    """`email-change` to an address another contact has: "dead" (dead-letter with both contact ids) or
    "skip" (applied without the address change, noted in the outcome)."""


class CampaignSettings(_Section):
    welcome: Ref | None
    retention: Ref | None
    winback: Ref | None
    onboarding: dict[str, Ref]
    """Tier -> its onboarding campaign."""


class ArmSettings(_Section):
    name: str
    """What the contact field holds for this arm's users, e.g. "A", "B", "holdout"."""
    campaign: Ref | None
    """The arm's campaign (id or name); None for the holdout (configured as "none"): no campaign."""
    weight: float
    """Relative share of new users (weights need not add up to anything)."""


class ExperimentSettings(_Section):
    name: str
    """Part of the assignment hash: renaming an experiment re-deals every arm not yet stored."""
    slot: str
    """The rules' campaign slot it takes over: welcome, retention, winback or onboarding:<tier>."""
    arms: list[ArmSettings]
    field: str
    """Contact field (text) that receives the arm's name; default exp_<name>."""
    active: bool
    """false: nobody new is assigned (new users get the slot's own campaign); assigned users keep their arm."""

    def experiment(self) -> Experiment:
        arms = tuple(Arm(a.name, a.campaign, a.weight) for a in self.arms)
        return Experiment(self.name, self.slot, arms, self.field, self.active)


class ProviderSettings(_Section):
    webhook_secret: SecretStr | None
    """Stripe endpoint secret (whsec_…)."""
    signing_secret: SecretStr | None
    """LemonSqueezy signing secret."""
    tolerance: int
    """Seconds a Stripe signature timestamp may differ from now."""
    tiers: dict[str, str]
    """Price id / lookup_key / product id (Stripe) or variant id / product id (LemonSqueezy) -> tier."""
    api_key: SecretStr | None
    """Stripe only: a restricted key with read access to customers, to look up an unknown customer."""


class BillingSettings(_Section):
    email_from_billing: bool
    """True: a billing email replaces the contact's email; false: the product's email wins."""
    accept_test_mode: bool
    """True: test-mode events (Stripe livemode false, LemonSqueezy test_mode) change contacts too."""
    wait: float
    """Seconds a delivery whose user is unknown waits for a linking event before it is dead."""


class WebhookSettings(_Section):
    host: str
    port: int
    events_token: SecretStr | None
    """Bearer token the product's backend sends to POST /events."""


class DashboardSettings(_Section):
    host: str
    """Address the dashboard listens on. Anything but loopback requires a token (or a trusted proxy header)."""
    port: int
    token: SecretStr | None
    """Bearer token (or sign-in) required on every page; required when not bound to loopback."""
    trusted_user_header: str | None
    """Set when an authenticating reverse proxy sits in front (e.g. X-Forwarded-User): requests without
    it are refused, and its value is recorded as who acted."""
    read_only: bool
    """Hide every action (retry, replay): a dashboard that can only look."""


class IdentitySettings(_Section):
    on_shared_contact: OnShared
    """An event whose email resolves to a contact another user id owns: "adopt" (move it to the new
    user id, after reading the contact's live state) or "refuse" (dead-letter, naming both)."""


class Settings(BaseModel):
    """Everything mautic-ctl can be told; see config.example.toml for each key."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    mautic: MauticSettings
    queue: QueueSettings
    lifecycle: LifecycleSettings
    segments: dict[str, Ref]
    """Logical segment (new_users, churned, or a tier name) -> id or name."""
    campaigns: CampaignSettings
    fields: dict[str, FieldSpec]
    """Extra custom fields `sync-contact --set` may write; the five standard ones (config.DEFAULT_FIELDS,
    which the lifecycle rules write) are always included."""
    stripe: ProviderSettings
    lemonsqueezy: ProviderSettings
    billing: BillingSettings
    webhook: WebhookSettings
    dashboard: DashboardSettings
    track: list[dict[str, Any]]
    """`[[track]]` tables: product event -> Mautic actions (see track.py)."""

    identity: IdentitySettings
    experiments: list[ExperimentSettings]
    """Campaign experiments ([[experiments]] tables): arms with weights for one campaign slot."""

    config_file: Path | None = Field(None, exclude=True)
    """Where the TOML came from (for messages only)."""
    profile: str | None = Field(None, exclude=True)
    """The [profiles.NAME] section in effect, if any."""

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any, info: ValidationInfo) -> Any:
        """The one definition of a valid configuration (config.normalize), defaults included."""
        if not isinstance(data, dict):
            return data
        meta = {k: data[k] for k in ("config_file", "profile") if k in data}
        rest = {k: _plain(v) for k, v in data.items() if k not in meta}
        origin = (info.context or {}).get("origin") if info.context else None
        normalized = config.normalize(rest, origin)
        config.remember_secrets(normalized)
        return {**normalized, **meta}

    # --- derived views -------------------------------------------------------------------------

    def policy(self) -> Policy:
        return Policy(
            tiers=tuple(self.lifecycle.tiers),
            cancel_tier=self.lifecycle.cancel_tier,
            segments=frozenset(self.segment_refs()),
            campaigns=frozenset(self.campaign_refs()) | {e.slot for e in self.experiments},
            on_delete=self.lifecycle.on_delete,
            on_email_conflict=self.lifecycle.on_email_conflict,
            track=self.track_rules(),
        )

    def track_rules(self) -> tuple[TrackRule, ...]:
        return config.track_rules({"track": self.track, "fields": self.fields})

    def book(self) -> Book | None:
        """The configured experiments, for the drain (None when there are none)."""
        if not self.experiments:
            return None
        return Book(tuple(e.experiment() for e in self.experiments), frozenset(self.lifecycle_campaign_refs()))

    def vocabulary(self) -> Vocabulary:
        return Vocabulary(tiers=tuple(self.lifecycle.tiers), fields=self.field_specs())

    def field_specs(self) -> dict[str, FieldSpec]:
        return config.field_specs(self.fields)

    def segment_refs(self) -> dict[str, Ref]:
        """Logical segment key (as the rules name it) -> configured reference."""
        out: dict[str, Ref] = {}
        for name, ref in self.segments.items():
            key = {"new_users": NEW_USERS, "churned": CHURNED}.get(name, tier_segment(name))
            out[key] = ref
        for rule in self.track_rules():
            out |= {track_key(ref): ref for ref in (*rule.join_segments, *rule.leave_segments)}
        return out

    def campaign_refs(self) -> dict[str, Ref]:
        """Logical campaign key -> configured reference: the lifecycle's campaigns and every arm's."""
        out = self.lifecycle_campaign_refs()
        for exp in self.experiments:
            out |= {arm_key(exp.name, a.name): a.campaign for a in exp.arms if a.campaign is not None}
        return out

    def lifecycle_campaign_refs(self) -> dict[str, Ref]:
        c = self.campaigns
        out: dict[str, Ref] = {
            key: ref
            for key, ref in ((WELCOME, c.welcome), (RETENTION, c.retention), (WINBACK, c.winback))
            if ref is not None
        }
        out |= {onboarding(tier): ref for tier, ref in c.onboarding.items()}
        out |= {track_key(r.enter_campaign): r.enter_campaign for r in self.track_rules() if r.enter_campaign}
        return {key: ref for key, ref in out.items() if not is_off(ref)}

    def campaigns_off(self) -> frozenset[str]:
        """Campaigns switched off on purpose (configured as "none")."""
        c = self.campaigns
        named = {WELCOME: c.welcome, RETENTION: c.retention, WINBACK: c.winback}
        named |= {onboarding(tier): ref for tier, ref in c.onboarding.items()}
        return frozenset(key for key, ref in named.items() if is_off(ref))

    def require_mautic(self) -> MauticSettings:
        """The Mautic connection settings, or a ConfigError saying what is missing."""
        m = self.mautic
        check_mautic(m.base_url, oauth2=m.oauth2, basic=m.basic)
        return m


def _plain(value: Any) -> Any:
    """A settings model or secret back to plain values, so ``Settings(mautic=s.mautic, …)`` validates."""
    if isinstance(value, BaseModel):
        return {k: _plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_settings(config_file: Path | None = None, profile: str | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are command-line flags as a nested dict (highest precedence)."""
    raw, path, profile = config.gather(config_file, profile, overrides)
    return Settings.model_validate({**raw, "config_file": path, "profile": profile}, context={"origin": path})
