"""Reading what Mautic really holds for a set of contacts: fields, segment and campaign memberships.

Reads only (GET), batched where Mautic allows it: contacts by email a chunk per call; memberships one
call per contact and kind (Mautic has no batch read for them), bounded by a semaphore.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mautic_ctl.errors import MauticError
from mautic_ctl.mautic import responses
from mautic_ctl.mautic.client import EMAIL_CHUNK, MauticClient


@dataclass(frozen=True, slots=True)
class LiveContact:
    """One contact as Mautic holds it now."""

    contact_id: int
    email: str  # case-folded
    fields: Mapping[str, Any]
    segment_ids: frozenset[int]
    campaign_ids: frozenset[int]  # active memberships of published campaigns (fact sheet §5.8)


@dataclass(slots=True)
class LiveRead:
    """Contacts found (by case-folded email; an email missing from both maps has no contact) and the
    emails whose read failed: one failing call fails only the users it was for."""

    found: dict[str, LiveContact] = field(default_factory=dict)
    errors: dict[str, MauticError] = field(default_factory=dict)


async def read_contacts(
    client: MauticClient, emails: Iterable[str], *, concurrency: int = 8, aliases: Iterable[str] = ()
) -> LiveRead:
    """The live state of every contact found by email: one lookup per chunk of emails, then its
    segment and campaign memberships (two calls per contact found, ``concurrency`` at a time)."""
    wanted = list(dict.fromkeys(e.strip().casefold() for e in emails if e and e.strip()))
    chunks = [wanted[i : i + EMAIL_CHUNK] for i in range(0, len(wanted), EMAIL_CHUNK)]
    sem = asyncio.Semaphore(concurrency)
    out = LiveRead()
    fields_wanted = tuple(aliases)

    async def lookup(chunk: list[str]) -> None:
        try:
            async with sem:
                found = await client.find_contacts_by_emails(chunk)
        except MauticError as exc:
            out.errors.update(dict.fromkeys(chunk, exc))
            return
        await asyncio.gather(*(memberships(email, contact) for email, contact in found.items()))

    async def memberships(email: str, contact: dict[str, Any]) -> None:
        try:
            cid = responses.id_of(contact, "GET /api/contacts")
            async with sem:
                segments = await client.contact_segments(cid)
            async with sem:
                campaigns = await client.contact_campaigns(cid)
        except MauticError as exc:
            out.errors[email] = exc
            return
        fields = {alias: responses.field_of(contact, alias) for alias in fields_wanted}
        out.found[email] = LiveContact(cid, email, fields, frozenset(segments), frozenset(campaigns))

    await asyncio.gather(*(lookup(chunk) for chunk in chunks))
    return out


async def read_bulk(
    client: MauticClient,
    emails: Iterable[str],
    segments: Iterable[int],
    campaigns: Iterable[int],
    *,
    concurrency: int = 8,
    aliases: Iterable[str] = (),
) -> dict[str, LiveContact]:
    """The same as ``read_contacts`` for thousands of users: memberships are read per segment and per
    campaign (paged lists of member ids), not per contact. Only the given segments and campaigns are
    read. A failing call fails the whole read (the caller retries later)."""
    wanted = list(dict.fromkeys(e.strip().casefold() for e in emails if e and e.strip()))
    sem = asyncio.Semaphore(concurrency)
    fields_wanted = tuple(aliases)
    by_alias = {int(s["id"]): str(s.get("alias") or "") for s in await client.list_segments()}

    async def bounded(coro: Any) -> Any:
        async with sem:
            return await coro

    chunks = [wanted[i : i + EMAIL_CHUNK] for i in range(0, len(wanted), EMAIL_CHUNK)]
    segment_ids = [sid for sid in dict.fromkeys(segments) if by_alias.get(sid)]
    campaign_ids = list(dict.fromkeys(campaigns))
    results = await asyncio.gather(
        *(bounded(client.find_contacts_by_emails(chunk)) for chunk in chunks),
        *(bounded(client.segment_member_ids(by_alias[sid])) for sid in segment_ids),
        *(bounded(client.campaign_member_ids(cid)) for cid in campaign_ids),
    )
    found: dict[str, dict[str, Any]] = {}
    for page in results[: len(chunks)]:
        found.update(page)
    seg_members = dict(zip(segment_ids, results[len(chunks) : len(chunks) + len(segment_ids)], strict=True))
    camp_members = dict(zip(campaign_ids, results[len(chunks) + len(segment_ids) :], strict=True))
    out: dict[str, LiveContact] = {}
    for email, contact in found.items():
        cid = responses.id_of(contact, "GET /api/contacts")
        out[email] = LiveContact(
            cid,
            email,
            {alias: responses.field_of(contact, alias) for alias in fields_wanted},
            frozenset(sid for sid, members in seg_members.items() if cid in members),
            frozenset(camp for camp, members in camp_members.items() if cid in members),
        )
    return out
