"""Pure: who owns a contact, and what Mautic's live contact means as the rules' ``UserState``.

One contact, one owner. Mautic matches emails case-insensitively, so two user ids whose emails differ
only in case share one contact. When an event resolves to a contact the mirror gives to another user
id, ``[identity] on_shared_contact`` decides: ``adopt`` moves ownership to the event's user (its plan
starts from the contact's live state), ``refuse`` dead-letters the event naming both user ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mautic_ctl.rules import Policy, UserState


class OnShared(StrEnum):
    ADOPT = "adopt"
    REFUSE = "refuse"


def parse_on_shared(value: object) -> OnShared:
    """Case-insensitive; a ValueError names the allowed values."""
    try:
        return OnShared(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"must be 'adopt' or 'refuse', not {value!r}") from None


def live_state(
    contact_id: int | None,
    fields: Mapping[str, Any],
    segment_keys: Iterable[str],
    campaign_keys: Iterable[str],
    fallback: UserState,
    policy: Policy,
) -> UserState:
    """The user's state as Mautic holds it; ``contact_id`` None: no contact has the email (any more).

    ``known`` means the contact went through a lifecycle before (it has a tier or a status), so a
    contact a marketer created by hand still gets its signup date.
    """
    if contact_id is None:
        return replace(fallback, contact_id=None, segments=frozenset(), campaigns=frozenset())
    f = policy.fields
    tier = fields.get(f.tier)
    tier = str(tier).strip().lower() if tier not in (None, "") else None
    status = fields.get(f.status)
    status = str(status).strip().lower() if status not in (None, "") else None
    ltv = fields.get(f.lifetime_value)
    try:
        lifetime_value = float(ltv) if ltv not in (None, "") else fallback.lifetime_value
    except (TypeError, ValueError):
        lifetime_value = fallback.lifetime_value
    return UserState(
        known=tier is not None or status is not None,
        contact_id=contact_id,
        email=fallback.email,
        tier=tier if tier in policy.tiers else None,
        status=status,
        segments=frozenset(segment_keys),
        campaigns=frozenset(campaign_keys),
        lifetime_value=lifetime_value,
        # what only mautic-ctl records (Mautic has no word on it): the last login, consent, event counts
        last_login=fallback.last_login,
        unsubscribed=fallback.unsubscribed,
        consent_at=fallback.consent_at,
        counts=fallback.counts,
    )


def refusal(user_id: str, others: Iterable[str], contact_id: int, email: str | None) -> str:
    names = ", ".join(repr(o) for o in sorted(others))
    return (
        f"contact #{contact_id} ({email}) belongs to user {names} in this database; refused user {user_id!r}'s "
        'event ([identity] on_shared_contact = "refuse"; set "adopt" to move the contact to the new user id).'
    )


def state_to_dict(state: UserState) -> dict[str, Any]:
    """A state read from Mautic, kept in the event's progress so its retries continue the same plan."""
    return {
        "known": state.known, "contact_id": state.contact_id, "email": state.email, "tier": state.tier,
        "status": state.status, "segments": sorted(state.segments), "campaigns": sorted(state.campaigns),
        "lifetime_value": state.lifetime_value, "last_login": state.last_login, "unsubscribed": state.unsubscribed,
        "consent_at": state.consent_at.isoformat() if state.consent_at else None, "counts": dict(state.counts),
    }  # fmt: skip


def state_from_dict(data: Mapping[str, Any]) -> UserState:
    return UserState(
        known=bool(data.get("known")), contact_id=data.get("contact_id"), email=data.get("email"),
        tier=data.get("tier"), status=data.get("status"), segments=frozenset(data.get("segments", ())),
        campaigns=frozenset(data.get("campaigns", ())), lifetime_value=float(data.get("lifetime_value", 0.0)),
        last_login=data.get("last_login"), unsubscribed=data.get("unsubscribed"),
        consent_at=datetime.fromisoformat(data["consent_at"]) if data.get("consent_at") else None,
        counts=dict(data.get("counts") or {}),
    )  # fmt: skip
