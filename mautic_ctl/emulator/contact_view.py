"""A contact as Mautic 5.1.0 serializes it, with both field-entry shapes of O1.

"new" is the shape of a contact created by the request (int ids, decoded properties, `utmtags: null`);
"existing" the shape of every other answer (string ids, PHP-serialized properties); "raw" the one a
batch/edit item that failed validation comes back in (values as raw DB strings, no `fields.all`).
`View` carries the write-response quirks (O2, O2b) that differ from what a later GET shows, and
`bool_strings` the D5 quirk: the contacts list, batch/edit and batch/delete answers print booleans as
"0"/"1". Numbers without a scale are shown truncated (D1); a single DELETE answer has `fields.all.id`
null and no tags (D12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import Contact, DncEntry, Field, MauticState, iso
from .values import normalized

GROUPS = ("core", "social", "personal", "professional")
OWNER = {
    "createdByUser": None,
    "modifiedByUser": None,
    "id": 1,
    "username": "admin",
    "firstName": "Admin",
    "lastName": "User",
}


@dataclass
class View:
    """How one write response deviates from the stored values."""

    shape: str = "existing"
    all_values: dict[str, Any] = field(default_factory=dict)
    core_values: dict[str, Any] = field(default_factory=dict)
    bool_strings: bool = False
    """D5: booleans as "0"/"1" strings (contacts list, batch/edit and batch/delete answers)."""


def contact_dict(
    state: MauticState,
    contact: Contact,
    view: View | None = None,
    *,
    minimal: bool = False,
    select: list[str] | None = None,
    deleted: bool = False,
) -> dict[str, Any]:
    """The `contact` object of an answer."""
    view = view or View()
    new = view.shape == "new"
    body: dict[str, Any] = {
        "isPublished": True,
        "dateAdded": iso(contact.date_added),
        "dateModified": iso(contact.date_modified),
        "createdBy": contact.created_by.user_id if contact.created_by else None,
        "createdByUser": contact.created_by.name if contact.created_by else None,
        "modifiedBy": contact.modified_by.user_id if contact.modified_by else None,
        "modifiedByUser": contact.modified_by.name if contact.modified_by else None,
        "id": None if deleted else contact.id,
        "points": contact.points,
        "color": None,
        "fields": _fields(state, contact, view, select, deleted),
    }
    if minimal:
        return body
    body.update(
        {
            "lastActive": None,
            "owner": dict(OWNER) if contact.owner_id == 1 else None,
            "ipAddresses": [],
            "tags": [] if deleted else [_tag(state, t) for t in contact.tag_ids],
            "utmtags": None if new else [],
            "stage": None,
            "dateIdentified": iso(contact.date_identified),
            "preferredProfileImage": None,
            "doNotContact": [dnc_dict(e) for e in contact.dnc.values()],
            "frequencyRules": [],
        }
    )
    if select is not None:
        body = {k: v for k, v in body.items() if v is not None}
    return body


def _tag(state: MauticState, tag_id: int) -> dict[str, Any]:
    return {"id": tag_id, "tag": state.tag_names[tag_id], "description": None}


def dnc_dict(e: DncEntry) -> dict[str, Any]:
    """A doNotContact entry (DoNotContact::loadApiMetadata list properties)."""
    return {
        "id": e.id,
        "dateAdded": iso(e.date_added),
        "reason": e.reason,
        "comments": e.comments,
        "channel": e.channel,
        "channelId": e.channel_id,
    }


def _fields(
    state: MauticState, contact: Contact, view: View, select: list[str] | None, deleted: bool
) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
    drop_nulls = select is not None
    every: dict[str, Any] = {"id": None if deleted else str(contact.id)}
    for f in state.ordered_fields():
        if not f.is_published:
            continue
        stored = contact.get(f.alias)
        if f.alias != "points":
            stored = f.shown(stored)
            if view.bool_strings and f.type == "boolean" and isinstance(stored, int):
                stored = str(int(stored))
        if select is not None and (f.alias not in select or stored is None):
            continue
        entry = _entry(f, contact, stored, view)
        if drop_nulls:
            entry = {k: v for k, v in entry.items() if v is not None}
        groups.setdefault(f.group, {})[f.alias] = entry
        every[f.alias] = view.all_values.get(f.alias, stored)
    out: dict[str, Any] = {g: (entries if entries else []) for g, entries in groups.items()}
    if view.shape != "raw":
        out["all"] = every
    return out


def _entry(f: Field, contact: Contact, stored: Any, view: View) -> dict[str, Any]:
    if view.shape == "new":
        value = view.core_values.get(f.alias, stored)
        if f.alias == "points":
            value = view.core_values.get("points", contact.points or None)
        return {
            "id": f.id,
            "group": f.group,
            "label": f.label,
            "alias": f.alias,
            "type": f.type,
            "properties": f.properties if f.properties else [],
            "value": value,
            "normalizedValue": normalized(f, value),
        }
    value = view.core_values.get(f.alias, stored)
    if view.shape == "raw" and value is not None and not isinstance(value, str):
        value = str(value)
    entry = {
        "id": str(f.id),
        "label": f.label,
        "alias": f.alias,
        "type": f.type,
        "group": f.group,
        "object": "lead",
        "is_fixed": "1" if f.is_fixed else "0",
        "properties": f.php_properties(),
        "default_value": f.default_value,
        "value": value,
        "normalizedValue": normalized(f, value),
    }
    return entry
