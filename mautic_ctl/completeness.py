"""Pure: is the configuration complete enough for the lifecycle it has to express?

A tier without a segment is what puts a contact into two tier segments (the old one is never left),
so it is an error. A transition without a campaign is only a warning (the seed's own variables name no
retention campaign) unless the campaign is switched off explicitly with ``"none"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from mautic_ctl.events import CANCELLED, Event, EventKind
from mautic_ctl.rules import RETENTION, WELCOME, WINBACK, onboarding, tier_segment

OFF = "none"  # a campaign configured as "none" is switched off on purpose
SEED_TIERS = ("free", "pro", "enterprise")  # the tiers the seed's MAUTIC_<TIER>_TIER_SEGMENT_ID names exist for


def is_off(ref: object) -> bool:
    return isinstance(ref, str) and ref.strip().lower() == OFF


def segment_key_name(tier: str) -> str:
    """Where a tier's segment is configured: the TOML key, and the seed's environment name if any."""
    env = f" / MAUTIC_{tier.upper()}_TIER_SEGMENT_ID" if tier in SEED_TIERS else ""
    return f"segments.{tier}{env}"


def missing_tier_segments(tiers: Iterable[str], segments: Iterable[str]) -> list[str]:
    """Tiers that have no configured segment (``segments`` holds logical keys such as ``tier:pro``)."""
    have = set(segments)
    return [t for t in tiers if tier_segment(t) not in have]


def transition_campaigns(tiers: tuple[str, ...]) -> list[str]:
    """Every campaign some transition enters or leaves."""
    return [WELCOME, RETENTION, WINBACK, *(onboarding(t) for t in tiers[1:])]


def unconfigured_campaigns(tiers: tuple[str, ...], campaigns: Iterable[str], off: Iterable[str]) -> list[str]:
    have = set(campaigns) | set(off)
    return [c for c in transition_campaigns(tiers) if c not in have]


def target_tier(event: Event, tiers: tuple[str, ...], cancel_tier: str) -> str | None:
    if event.kind is EventKind.SIGNUP:
        return event.tier or tiers[0]
    if event.kind is EventKind.PLAN_CHANGE:
        return cancel_tier if event.tier == CANCELLED else event.tier
    return None


def inexpressible(event: Event, tiers: tuple[str, ...], cancel_tier: str, tier_segments: Iterable[str]) -> str | None:
    """Why the configuration cannot express ``event`` (a move into a tier without a segment), or None.

    Only when some tier segment is configured at all: with none, segments are simply not managed.
    """
    configured = set(tier_segments)
    tier = target_tier(event, tiers, cancel_tier)
    if not configured or tier is None or tier in configured:
        return None
    return (
        f"tier {tier!r} has no segment configured, so this event would leave the contact in two tier segments; "
        f"set {segment_key_name(tier)} (then run `mautic-ctl verify-config`)."
    )
