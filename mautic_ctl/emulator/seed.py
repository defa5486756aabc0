"""What a fresh emulated instance holds: Mautic's 28 stock contact fields (copied from the 5.1.0
recordings), plus, when seeding, five custom fields, five segments and five campaigns with fixed ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .state import Actor, Campaign, CampaignEvent, Field, MauticState, Segment, utcnow

ADMIN = Actor(1, "Admin User")

SEED_SEGMENTS: dict[str, int] = {"new_users": 1, "free": 2, "pro": 3, "enterprise": 4, "churned": 5}
SEED_CAMPAIGNS: dict[str, int] = {
    "welcome": 1,
    "onboarding_pro": 2,
    "onboarding_enterprise": 3,
    "retention": 4,
    "winback": 5,
}
SEED_FIELDS: dict[str, int] = {
    "subscription_tier": 44,
    "subscription_status": 45,
    "signup_date": 46,
    "last_login": 47,
    "lifetime_value": 48,
}
"""Custom contact fields, alias -> field id (ids 29-43 are Mautic's company fields)."""

_SEGMENT_ROWS = [
    (1, "New Users", "new-users"),
    (2, "Free Tier", "free-tier"),
    (3, "Pro Tier", "pro-tier"),
    (4, "Enterprise Tier", "enterprise-tier"),
    (5, "Churned", "churned"),
]
_CAMPAIGN_ROWS = [
    (1, "Welcome", 1),
    (2, "Pro Onboarding", 3),
    (3, "Enterprise Onboarding", 4),
    (4, "Retention", 2),
    (5, "Win-back", 5),
]
_CUSTOM_FIELD_ROWS = [
    ("subscription_tier", "Subscription Tier", "text"),
    ("subscription_status", "Subscription Status", "text"),
    ("signup_date", "Signup Date", "date"),
    ("last_login", "Last Login", "datetime"),
    ("lifetime_value", "Lifetime Value", "number"),
]
TEXT_LIKE = frozenset({"text", "email", "tel", "url", "select", "lookup", "region", "country", "locale", "timezone"})

_STOCK = json.loads((Path(__file__).with_name("stock_fields.json")).read_text())


def _stock_field(row: dict[str, Any]) -> Field:
    return Field(
        id=row["id"],
        label=row["label"],
        alias=row["alias"],
        type=row["type"],
        group=row["group"],
        order=row["order"],
        default_value=row["defaultValue"],
        is_fixed=row["isFixed"],
        is_short_visible=row["isShortVisible"],
        is_unique_identifier=row["isUniqueIdentifier"],
        is_listable=row["isListable"],
        is_visible=row["isVisible"],
        is_required=row["isRequired"],
        is_publicly_updatable=row["isPubliclyUpdatable"],
        properties=row["properties"],
        char_length_limit=64 if row["type"] in TEXT_LIKE else None,
    )


def company_field_template() -> list[dict[str, Any]]:
    """Company field rows as the contact-companies/company endpoints print them."""
    return _STOCK["company"]


def populate(state: MauticState, *, seed: bool) -> None:
    """Fill an empty state: stock fields always, the demo segments/campaigns/fields when `seed`."""
    for row in _STOCK["contact"]:
        state.add_field(_stock_field(row))
    state.bump_field_ids(43)
    if not seed:
        return
    now = utcnow()
    for order, (alias, label, ftype) in enumerate(_CUSTOM_FIELD_ROWS, start=12):
        state.add_field(
            Field(
                id=SEED_FIELDS[alias],
                label=label,
                alias=alias,
                type=ftype,
                order=order,
                char_length_limit=64 if ftype in TEXT_LIKE else None,
                date_added=now,
                created_by=1,
                created_by_user=ADMIN.name,
            )
        )
    state.bump_field_ids(max(SEED_FIELDS.values()))
    for sid, name, alias in _SEGMENT_ROWS:
        state.segments[sid] = Segment(sid, name, alias, name, date_added=now, created_by=ADMIN)
    state.bump_ids("segment", len(_SEGMENT_ROWS))
    for cid, name, source in _CAMPAIGN_ROWS:
        event = CampaignEvent(cid, "Adjust points", "lead.changepoints", "action", 1, {"points": 1}, "immediate")
        state.campaigns[cid] = Campaign(
            cid,
            name,
            is_published=True,
            allow_restart=True,
            events=[event],
            segment_ids=[source],
            canvas_settings=_canvas(event.id),
            date_added=now,
            created_by=ADMIN,
            modified_by=ADMIN,
        )
    state.bump_ids("campaign", len(_CAMPAIGN_ROWS))
    state.bump_ids("event", len(_CAMPAIGN_ROWS))


def _canvas(event_id: int) -> dict[str, Any]:
    node = str(event_id)
    return {
        "nodes": [
            {"id": node, "positionX": "650", "positionY": "150"},
            {"id": "lists", "positionX": "650", "positionY": "50"},
        ],
        "connections": [{"sourceId": "lists", "targetId": node, "anchors": {"source": "leadsource", "target": "top"}}],
    }
