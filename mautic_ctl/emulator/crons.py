"""Equivalents of the console commands the recordings run between calls (`cli_before`).

Nothing campaign-related happens inside an API call (§10): these functions are what
`mautic:segments:update`, `mautic:campaigns:update` and `mautic:campaigns:trigger` do to the state.
"""

from __future__ import annotations

import re
from typing import Any

from .contact_query import like_regex
from .emails import send as send_email
from .state import Actor, Contact, MauticState, utcnow

SYSTEM = Actor(None, " ")
"""Console commands run without a user: Mautic prints the modifier's name as a single space."""


def _matches(contact: Contact, filters: list[dict[str, Any]]) -> bool:
    result: bool | None = None
    for flt in filters:
        ok = _one(contact, flt)
        glue = str(flt.get("glue") or "and")
        result = ok if result is None else (result or ok) if glue == "or" else (result and ok)
    return bool(result)


def _one(contact: Contact, flt: dict[str, Any]) -> bool:
    value = contact.get(str(flt.get("field")))
    props = flt.get("properties") or {}
    wanted = props.get("filter", flt.get("filter"))
    op = str(flt.get("operator") or "=")
    text = None if value is None else str(value).lower()
    target = None if wanted is None else str(wanted).lower()
    checks = {
        "=": lambda: text is not None and text == target,
        "!=": lambda: text != target,
        "empty": lambda: text in (None, ""),
        "!empty": lambda: text not in (None, ""),
        "like": lambda: text is not None and bool(like_regex(f"%{wanted}%").match(text)),
        "!like": lambda: text is None or not like_regex(f"%{wanted}%").match(text),
        "startsWith": lambda: text is not None and text.startswith(target or ""),
        "endsWith": lambda: text is not None and text.endswith(target or ""),
        "contains": lambda: text is not None and (target or "") in text,
        "in": lambda: text in [str(w).lower() for w in (wanted or [])],
        "!in": lambda: text not in [str(w).lower() for w in (wanted or [])],
        "regexp": lambda: text is not None and re.search(str(wanted), text) is not None,
    }
    check = checks.get(op)
    return bool(check()) if check else False


def update_segment(state: MauticState, segment_id: int | None = None) -> int:
    """mautic:segments:update: add matching contacts that have no row; drop non-matching filter rows."""
    affected = 0
    for segment in list(state.segments.values()):
        if (segment_id is not None and segment.id != segment_id) or not segment.filters:
            continue
        segment.modified_by = SYSTEM
        for contact in state.contacts.values():
            key = (segment.id, contact.id)
            row = state.segment_members.get(key)
            matches = _matches(contact, segment.filters)
            if matches and row is None:
                state.segment_add(segment.id, contact.id, manual=False)
                affected += 1
            elif not matches and row is not None and not row.manually_added:
                state._drop_segment_row(segment.id, contact.id)
                affected += int(not row.manually_removed)
    return affected


def update_campaign(state: MauticState, campaign_id: int | None = None) -> int:
    """mautic:campaigns:update: enrol members of the source segments (manually removed rows block it)."""
    affected = 0
    for campaign in list(state.campaigns.values()):
        if campaign_id is not None and campaign.id != campaign_id:
            continue
        members: set[int] = set()
        for sid in campaign.segment_ids:
            members |= state.segment_contact_ids(sid)
        for cid in sorted(members):
            affected += int(state.campaign_add(campaign.id, cid, manual=False))
    return affected


def trigger_campaign(state: MauticState, campaign_id: int | None = None) -> int:
    """mautic:campaigns:trigger: run each published campaign's events once per (contact, rotation).

    `lead.changepoints` adds `properties.points`; `email.send` sends `properties.email` (its sent count and
    an email_stats row); other events are only logged.
    """
    executed = 0
    for campaign in list(state.campaigns.values()):
        if (campaign_id is not None and campaign.id != campaign_id) or not campaign.is_published:
            continue
        for cid, row in state.campaign_rows(campaign.id):
            contact = state.contacts.get(cid)
            if contact is None:
                continue
            for event in campaign.events:
                key = (event.id, cid, row.rotation)
                if key in state.event_log:
                    continue
                state.event_log.add(key)
                executed += 1
                if event.type == "lead.changepoints" and isinstance(event.properties, dict):
                    contact.points += int(float(event.properties.get("points") or 0))
                    contact.date_modified = utcnow()
                    contact.modified_by = SYSTEM
                elif event.type == "email.send" and isinstance(event.properties, dict):
                    send_email(state, int(event.properties.get("email") or 0), cid)
    return executed


COMMANDS = {
    "mautic:segments:update": update_segment,
    "mautic:segments:rebuild": update_segment,
    "mautic:campaigns:update": update_campaign,
    "mautic:campaigns:rebuild": update_campaign,
    "mautic:campaigns:trigger": trigger_campaign,
}


def run_console(state: MauticState, command_line: str) -> int:
    """Run a `php bin/console mautic:... [-i ID]` line against the state; returns the affected count."""
    words = command_line.split()
    name = next((w for w in words if w.startswith("mautic:")), None)
    if name not in COMMANDS:
        raise ValueError(f"unsupported console command: {command_line}")
    target: int | None = None
    for i, word in enumerate(words):
        if word in ("-i", "--id", "--list-id", "--campaign-id") and i + 1 < len(words):
            target = int(words[i + 1])
        elif word.startswith(("--id=", "--list-id=", "--campaign-id=")):
            target = int(word.split("=", 1)[1])
    return COMMANDS[name](state, target)
