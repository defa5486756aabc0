"""The in-memory Mautic: entities, indexes and the membership rules of §6/§7 of the fact sheet.

Everything a handler or a test needs to look up on a hot path is a dict lookup: contacts by id, by
lower-cased email, segment and campaign memberships by (list, contact) and by contact. Handlers run
inside `lock` so a test thread reading the state never sees a half-applied request.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .model import (
    Actor,
    Campaign,
    CampaignEntry,
    CampaignEvent,
    CampaignMember,
    Company,
    Contact,
    DncEntry,
    Field,
    Segment,
    SegmentMember,
    iso,
    utcnow,
)

__all__ = [
    "Actor",
    "Campaign",
    "CampaignEntry",
    "CampaignEvent",
    "CampaignMember",
    "Company",
    "Contact",
    "DncEntry",
    "Field",
    "MauticState",
    "Segment",
    "SegmentMember",
    "iso",
    "utcnow",
]


class MauticState:
    """All entities of one emulated instance, plus the membership operations."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        """Forget everything (the seed module fills the state afterwards)."""
        self.fields: dict[int, Field] = {}
        self.field_by_alias: dict[str, Field] = {}
        self._ordered: list[Field] | None = None
        self.contacts: dict[int, Contact] = {}
        self.email_index: dict[str, set[int]] = {}
        """Lower-cased email -> ids: real Mautic can end up with two contacts on one email (D7)."""
        self.segments: dict[int, Segment] = {}
        self.segment_members: dict[tuple[int, int], SegmentMember] = {}
        self.segments_by_contact: dict[int, set[int]] = {}
        self.campaigns: dict[int, Campaign] = {}
        self.campaign_members: dict[tuple[int, int], CampaignMember] = {}
        self.campaigns_by_contact: dict[int, set[int]] = {}
        self.campaign_entries: dict[tuple[int, int], list[CampaignEntry]] = {}
        self.event_log: set[tuple[int, int, int]] = set()
        self.tags: dict[str, int] = {}
        self.tag_names: dict[int, str] = {}
        self.companies: dict[int, Company] = {}
        self.contact_companies: dict[int, list[tuple[int, datetime]]] = {}
        self.restarts_expected = False
        """Set by a test that means to restart a campaign; `double_entries()` then reports nothing."""
        self.emails: dict[int, Any] = {}  # emails.Email by id
        self.email_stats: list[dict[str, Any]] = []  # one row per email sent to a contact
        self.page_hits: list[dict[str, Any]] = []  # clicks on tracked links (email_id set for emails)
        kinds = ("contact", "segment", "campaign", "event", "tag", "company", "dnc", "email")
        self._ids = {k: itertools.count(1) for k in kinds}
        self._field_ids = itertools.count(1)

    # ---- id allocation -------------------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def bump_ids(self, kind: str, used: int) -> None:
        """Make the next id of `kind` larger than `used` (after seeding fixed ids)."""
        self._ids[kind] = itertools.count(used + 1)

    def next_field_id(self) -> int:
        return next(self._field_ids)

    def bump_field_ids(self, used: int) -> None:
        self._field_ids = itertools.count(used + 1)

    # ---- fields --------------------------------------------------------------------------------------
    def add_field(self, f: Field) -> None:
        self._ordered = None
        self.fields[f.id] = f
        self.field_by_alias[f.alias] = f

    def remove_field(self, field_id: int) -> Field | None:
        f = self.fields.pop(field_id, None)
        self._ordered = None
        if f is not None:
            self.field_by_alias.pop(f.alias, None)
            for contact in self.contacts.values():
                contact.values.pop(f.alias, None)
        return f

    def ordered_fields(self) -> list[Field]:
        """Contact fields in Mautic's display order (`order`, then id)."""
        if self._ordered is None:
            self._ordered = sorted(self.fields.values(), key=lambda f: (f.order, f.id))
        return self._ordered

    def published_field(self, alias: str) -> Field | None:
        f = self.field_by_alias.get(alias)
        return f if f is not None and f.is_published else None

    # ---- contacts ------------------------------------------------------------------------------------
    def contact_by_email(self, email: str) -> Contact | None:
        """Case-insensitive email lookup, like MySQL's *_ci collation; the newest contact wins (§5.3)."""
        ids = self.email_index.get(email.strip().lower())
        return self.contacts.get(max(ids)) if ids else None

    def ids_by_email(self, email: str) -> set[int]:
        """Every contact id holding this email (more than one only after a D7 batch)."""
        return set(self.email_index.get(email.strip().lower(), ()))

    def add_contact(self, contact: Contact) -> None:
        """Store a new contact and index the email it already holds."""
        self.contacts[contact.id] = contact
        email = contact.values.get("email")
        if email is not None:
            self.email_index.setdefault(email.lower(), set()).add(contact.id)

    def _unindex_email(self, contact: Contact) -> None:
        old = contact.values.get("email")
        if old is None:
            return
        ids = self.email_index.get(old.lower())
        if ids is not None:
            ids.discard(contact.id)
            if not ids:
                del self.email_index[old.lower()]

    def set_email(self, contact: Contact, email: str | None) -> None:
        if not contact.detached:
            self._unindex_email(contact)
        if email is None:
            contact.values.pop("email", None)
        else:
            contact.values["email"] = email
            if contact.id in self.contacts and not contact.detached:
                self.email_index.setdefault(email.lower(), set()).add(contact.id)

    def duplicate_emails(self) -> dict[str, set[int]]:
        """Emails held by more than one contact: what a D7 batch leaves behind (for tests)."""
        with self.lock:
            return {email: set(ids) for email, ids in self.email_index.items() if len(ids) > 1}

    def delete_contact(self, contact_id: int) -> Contact | None:
        contact = self.contacts.pop(contact_id, None)
        if contact is None:
            return None
        self._unindex_email(contact)
        for sid in self.segments_by_contact.pop(contact_id, set()):
            self.segment_members.pop((sid, contact_id), None)
        for camp in self.campaigns_by_contact.pop(contact_id, set()):
            self.campaign_members.pop((camp, contact_id), None)
        self.contact_companies.pop(contact_id, None)
        return contact

    def add_dnc(self, contact: Contact, channel: str, reason: int, comments: str, channel_id: int | None) -> bool:
        """DoNotContact::addDncForContact: same reason is a no-op, a contact's own unsubscribe (1) is
        never overridden, any other reason replaces the entry. Returns True when something changed."""
        entry = contact.dnc.get(channel)
        if entry is not None and (entry.reason == reason or entry.reason == 1):
            return False
        contact.dnc[channel] = DncEntry(self.next_id("dnc"), channel, reason, comments, channel_id, utcnow())
        return True

    def tag_id(self, name: str) -> int:
        tid = self.tags.get(name)
        if tid is None:
            tid = self.next_id("tag")
            self.tags[name] = tid
            self.tag_names[tid] = name
        return tid

    # ---- segments ------------------------------------------------------------------------------------
    def segment_by_alias(self, alias: str) -> Segment | None:
        return next((s for s in self.segments.values() if s.alias == alias), None)

    def segment_add(self, segment_id: int, contact_id: int, *, manual: bool = True) -> bool:
        """ListModel::addLead. Returns True when a row was inserted or revived."""
        key = (segment_id, contact_id)
        row = self.segment_members.get(key)
        if row is None:
            self.segment_members[key] = SegmentMember(manual, False, utcnow())
            self.segments_by_contact.setdefault(contact_id, set()).add(segment_id)
            return True
        if row.manually_removed and manual:
            row.manually_removed = False
            row.manually_added = True
            row.date_added = utcnow()
            return True
        return False

    def segment_remove(self, segment_id: int, contact_id: int) -> None:
        """ListModel::removeLead(manuallyRemoved=true): delete manual rows, suppress filter rows."""
        key = (segment_id, contact_id)
        row = self.segment_members.get(key)
        if row is None or row.manually_removed:
            return
        if row.manually_added:
            self._drop_segment_row(segment_id, contact_id)
        else:
            row.manually_removed = True

    def _drop_segment_row(self, segment_id: int, contact_id: int) -> None:
        self.segment_members.pop((segment_id, contact_id), None)
        owned = self.segments_by_contact.get(contact_id)
        if owned is not None:
            owned.discard(segment_id)

    def active_segments(self, contact_id: int) -> Iterator[tuple[Segment, SegmentMember]]:
        """The contact's segment rows that are not suppressed (unpublished segments included)."""
        for sid in sorted(self.segments_by_contact.get(contact_id, ())):
            row = self.segment_members[(sid, contact_id)]
            if not row.manually_removed and sid in self.segments:
                yield self.segments[sid], row

    def segment_contact_ids(self, segment_id: int) -> set[int]:
        return {
            cid for (sid, cid), row in self.segment_members.items() if sid == segment_id and not row.manually_removed
        }

    def delete_segment(self, segment_id: int) -> Segment | None:
        segment = self.segments.pop(segment_id, None)
        if segment is not None:
            for sid, cid in [k for k in self.segment_members if k[0] == segment_id]:
                self._drop_segment_row(sid, cid)
            for campaign in self.campaigns.values():
                if segment_id in campaign.segment_ids:
                    campaign.segment_ids.remove(segment_id)
        return segment

    # ---- campaigns -----------------------------------------------------------------------------------
    def campaign_add(self, campaign_id: int, contact_id: int, *, manual: bool = True) -> bool:
        """MembershipManager::addContact. Returns True when the contact (re)entered the campaign."""
        campaign = self.campaigns[campaign_id]
        key = (campaign_id, contact_id)
        row = self.campaign_members.get(key)
        now = utcnow()
        if row is None:
            self.campaign_members[key] = CampaignMember(manual, False, 1, now)
            self.campaigns_by_contact.setdefault(contact_id, set()).add(campaign_id)
            self._log_entry(campaign_id, contact_id, 1, now, manual)
            return True
        if row.manually_removed:
            if not manual:
                return False
        elif not (manual and campaign.allow_restart):
            return False
        row.manually_removed = False
        row.manually_added = manual
        row.rotation += 1
        row.date_added = now
        row.date_last_exited = None
        self._log_entry(campaign_id, contact_id, row.rotation, now, manual)
        return True

    def _log_entry(self, campaign_id: int, contact_id: int, rotation: int, at: datetime, manual: bool) -> None:
        entry = CampaignEntry(campaign_id, contact_id, rotation, at, "api" if manual else "rebuild")
        self.campaign_entries.setdefault((campaign_id, contact_id), []).append(entry)

    def campaign_remove(self, campaign_id: int, contact_id: int) -> None:
        row = self.campaign_members.get((campaign_id, contact_id))
        if row is not None and not row.manually_removed:
            row.manually_removed = True
            row.manually_added = False
            row.date_last_exited = utcnow()

    def active_campaigns(self, contact_id: int) -> Iterator[tuple[Campaign, CampaignMember]]:
        for camp in sorted(self.campaigns_by_contact.get(contact_id, ())):
            row = self.campaign_members[(camp, contact_id)]
            if not row.manually_removed and camp in self.campaigns:
                yield self.campaigns[camp], row

    def campaign_rows(self, campaign_id: int) -> list[tuple[int, CampaignMember]]:
        return sorted(
            (cid, row)
            for (camp, cid), row in self.campaign_members.items()
            if camp == campaign_id and not row.manually_removed
        )

    def delete_campaign(self, campaign_id: int) -> Campaign | None:
        campaign = self.campaigns.pop(campaign_id, None)
        if campaign is not None:
            for camp, cid in [k for k in self.campaign_members if k[0] == campaign_id]:
                del self.campaign_members[(camp, cid)]
                self.campaigns_by_contact.get(cid, set()).discard(camp)
        return campaign

    # ---- inspection helpers for tests (safe to call from another thread) ----------------------------
    def double_entries(self) -> list[CampaignEntry]:
        """Entries at rotation 2 or more: a contact that (re)started a campaign it was already in.

        A restartable campaign runs its events again for such a contact, so outside a test that asks
        for a restart (`restarts_expected`) every one of these is a duplicate welcome mail.
        """
        with self.lock:
            if self.restarts_expected:
                return []
            return [e for rows in self.campaign_entries.values() for e in rows if e.rotation >= 2]

    def campaign_rotation(self, campaign_id: int, contact_id: int) -> int:
        """Current rotation of (campaign, contact): 0 when never a member."""
        with self.lock:
            row = self.campaign_members.get((campaign_id, contact_id))
            return 0 if row is None else row.rotation

    def entries(self, campaign_id: int, contact_id: int) -> list[CampaignEntry]:
        """Every entry of the contact into the campaign, oldest first."""
        with self.lock:
            return list(self.campaign_entries.get((campaign_id, contact_id), ()))

    def segment_ids_of(self, contact_id: int) -> set[int]:
        """Ids of the segments the contact is an active member of."""
        with self.lock:
            return {s.id for s, _ in self.active_segments(contact_id)}

    def campaign_ids_of(self, contact_id: int) -> set[int]:
        """Ids of the campaigns the contact is an active member of (published or not)."""
        with self.lock:
            return {c.id for c, _ in self.active_campaigns(contact_id)}

    def field_value(self, email: str, alias: str) -> Any:
        """A contact's field value as every API answer shows it (D1 truncation included), by email."""
        with self.lock:
            contact = self.contact_by_email(email)
            if contact is None:
                return None
            f = self.field_by_alias.get(alias)
            value = contact.get(alias)
            return value if f is None or alias == "points" else f.shown(value)

    def stored_value(self, email: str, alias: str) -> Any:
        """A contact's field value as the database keeps it (a number without scale keeps its fraction, D1)."""
        with self.lock:
            contact = self.contact_by_email(email)
            return None if contact is None else contact.get(alias)
