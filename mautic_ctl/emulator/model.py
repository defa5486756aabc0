"""The entities of the emulated Mautic, as plain dataclasses (the state module indexes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .php import php_serialize


def utcnow() -> datetime:
    """Naive UTC now, to the second (Mautic stores DATETIME columns without fractions)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def iso(value: datetime | None) -> str | None:
    """JMS serializer 'c' format, always UTC for API requests."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user (Basic auth) or an OAuth2 client's pseudo-user."""

    user_id: int | None
    name: str


@dataclass
class Field:
    """A contact (or company) field definition."""

    id: int
    label: str
    alias: str
    type: str
    group: str = "core"
    order: int = 1
    object: str = "lead"
    default_value: Any = None
    is_required: bool = False
    is_fixed: bool = False
    is_listable: bool = True
    is_visible: bool = True
    is_short_visible: bool = True
    is_unique_identifier: bool = False
    is_publicly_updatable: bool = False
    is_published: bool = True
    properties: dict[str, Any] = field(default_factory=dict)
    char_length_limit: int | None = 64
    date_added: datetime | None = None
    created_by: int | None = None
    created_by_user: str | None = None
    _php: tuple[int, str] | None = field(default=None, init=False, repr=False, compare=False)

    def php_properties(self) -> str:
        """`properties` PHP-serialized, as existing-contact field entries print it (cached per dict)."""
        if self._php is None or self._php[0] != id(self.properties):
            self._php = (id(self.properties), php_serialize(self.properties if self.properties else []))
        return self._php[1]

    @property
    def scale(self) -> int | None:
        """Decimal places of a number field; None when the field has no scale (values round to int)."""
        raw = self.properties.get("scale") if isinstance(self.properties, dict) else None
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def shown(self, stored: Any) -> Any:
        """A stored value as answers show it: fixNumbers casts a number without a scale with (int),
        truncating toward zero, while the database keeps the fraction (D1)."""
        if stored is None or self.type != "number" or isinstance(stored, str | bool):
            return stored
        return int(stored) if not self.scale else float(stored)


@dataclass
class Contact:
    """A contact; `values` holds only non-null field values, keyed by alias."""

    id: int
    values: dict[str, Any] = field(default_factory=dict)
    points: int = 0
    tag_ids: list[int] = field(default_factory=list)
    owner_id: int | None = None
    company_ids: list[int] = field(default_factory=list)
    date_added: datetime | None = None
    date_modified: datetime | None = None
    date_identified: datetime | None = None
    created_by: Actor | None = None
    modified_by: Actor | None = None
    dnc: dict[str, DncEntry] = field(default_factory=dict)
    """Do-not-contact entries by channel (lead_donotcontact rows)."""
    detached: bool = False
    """A copy of a stored contact that is being saved again (D7); not in the state's indexes yet."""

    def get(self, alias: str) -> Any:
        if alias == "points":
            return self.points
        return self.values.get(alias)


@dataclass
class DncEntry:
    """A lead_donotcontact row; reason 1 unsubscribed, 2 bounced, 3 manual (§5.7)."""

    id: int
    channel: str
    reason: int
    comments: str
    channel_id: int | None
    date_added: datetime


@dataclass
class Segment:
    id: int
    name: str
    alias: str
    public_name: str
    description: str | None = None
    is_published: bool = True
    is_global: bool = True
    is_preference_center: bool = False
    filters: list[dict[str, Any]] = field(default_factory=list)
    date_added: datetime | None = None
    date_modified: datetime | None = None
    created_by: Actor | None = None
    modified_by: Actor | None = None


@dataclass
class SegmentMember:
    """A lead_lists_leads row."""

    manually_added: bool
    manually_removed: bool
    date_added: datetime


@dataclass
class CampaignEvent:
    id: int
    name: str
    type: str
    event_type: str
    order: int = 0
    properties: Any = field(default_factory=dict)
    trigger_mode: str | None = None
    description: str | None = None
    decision_path: str | None = None


@dataclass
class Campaign:
    id: int
    name: str
    description: str | None = None
    is_published: bool = True
    allow_restart: bool = False
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    events: list[CampaignEvent] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    canvas_settings: dict[str, Any] = field(default_factory=lambda: {"nodes": [], "connections": []})
    date_added: datetime | None = None
    date_modified: datetime | None = None
    created_by: Actor | None = None
    modified_by: Actor | None = None


@dataclass
class CampaignMember:
    """A campaign_leads row; `rotation` counts how many times the contact (re)entered."""

    manually_added: bool
    manually_removed: bool
    rotation: int
    date_added: datetime
    date_last_exited: datetime | None = None


@dataclass(frozen=True)
class CampaignEntry:
    """One entry of a contact into a campaign (a new rotation), kept so tests can count entries."""

    campaign_id: int
    contact_id: int
    rotation: int
    at: datetime
    source: str
    """"api" for an API add, "rebuild" for mautic:campaigns:update."""


@dataclass
class Company:
    id: int
    name: str
    date_added: datetime
    created_by: Actor | None = None
