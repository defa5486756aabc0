"""`mautic-ctl report`: campaign entries joined to what users did next, from the local store.

With ``mautic=True`` each campaign row is also given Mautic's own numbers for the campaign's emails
(sent, read, clicked), read through the API: the campaign's ``email.send`` events name the emails,
``GET /api/emails/{id}`` has their sent and read counts, and ``page_hits`` rows with the email's id are
the clicks on its tracked links. Those are Mautic's all-time totals for the emails, not numbers
limited to the report's users or window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from mautic_ctl.errors import NotFound
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.report import By, EntryRow, OutcomeRow, Report, build
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.settings import Ref
from mautic_ctl.store import report as store


@dataclass(frozen=True, slots=True)
class ReportOptions:
    by: By = By.CAMPAIGN
    window: timedelta = timedelta(days=30)
    since: datetime | None = None
    metric: str = "upgraded"
    mautic: bool = False


def campaign_label(key: str, refs: dict[str, Ref]) -> str:
    """How a campaign shows in the report: its configured name, or "campaign <id>"."""
    ref = refs.get(key)
    if ref is None:
        return key  # a campaign no longer configured: its logical key
    return f"campaign {ref}" if isinstance(ref, int) else str(ref)


def lifecycle_report(rt: Runtime, options: ReportOptions, now: datetime) -> Report:
    refs = rt.settings.campaign_refs()
    since = options.since.isoformat() if options.since else None
    entries = [
        EntryRow(
            row["user_id"],
            datetime.fromisoformat(row["occurred_at"]),
            row["slot"],
            None if row["campaign"] is None else campaign_label(row["campaign"], refs),
            row.get("experiment"),
            row.get("arm"),
            row.get("tier"),
        )
        for row in store.entries(rt.conn, since)
    ]
    outcomes = [
        OutcomeRow(user_id, datetime.fromisoformat(at), kind, float(amount or 0))
        for user_id, at, kind, amount in store.outcomes(rt.conn, since)
    ]
    report = build(
        entries, outcomes, by=options.by, window=options.window, since=options.since, now=now, metric=options.metric
    )
    if options.mautic:
        labels = {campaign_label(key, refs): ref for key, ref in refs.items()}
        asyncio.run(_join_mautic(rt, report, labels))
    return report


async def _join_mautic(rt: Runtime, report: Report, labels: dict[str, Ref]) -> None:
    from mautic_ctl.services.resolve import as_id, match_name

    async with rt.client() as client:
        campaigns: list[dict] | None = None
        cache: dict[int, dict[str, int]] = {}
        for group in report.groups:
            ref = labels.get(group.campaign or "")
            if ref is None:
                continue
            campaign_id = as_id(ref)
            if campaign_id is None:
                campaigns = campaigns if campaigns is not None else await client.list_campaigns()
                campaign_id = match_name(campaigns, str(ref))
            if campaign_id is None:
                report.warnings.append(f"{group.label}: no such campaign in Mautic, so no email numbers.")
                continue
            if campaign_id not in cache:
                cache[campaign_id] = await email_numbers(client, campaign_id)
            group.mautic = cache[campaign_id]


async def email_numbers(client: MauticClient, campaign_id: int) -> dict[str, int]:
    """Sent, read and clicked, summed over the emails the campaign's email.send events send."""
    try:
        campaign = await client.get_campaign(campaign_id)
    except NotFound:
        return {"emails": 0, "sent": 0, "read": 0, "clicked": 0}
    email_ids = sorted({i for i in (email_of(e) for e in campaign.get("events") or []) if i is not None})
    totals = {"emails": len(email_ids), "sent": 0, "read": 0, "clicked": 0}

    async def one(email_id: int) -> tuple[int, int, int]:
        try:
            email = await client.get_email(email_id)
        except NotFound:
            return 0, 0, 0
        clicks = await client.count_stats("page_hits", {"email_id": email_id})
        return int(email.get("sentCount") or 0), int(email.get("readCount") or 0), clicks

    for sent, read, clicked in await asyncio.gather(*(one(i) for i in email_ids)):
        totals["sent"] += sent
        totals["read"] += read
        totals["clicked"] += clicked
    return totals


def email_of(event: dict) -> int | None:
    """The email an ``email.send`` campaign event sends: ``channelId`` (channel email), else properties.email."""
    if event.get("type") != "email.send":
        return None
    if event.get("channel") == "email" and event.get("channelId"):
        return int(event["channelId"])
    props = event.get("properties")
    value = props.get("email") if isinstance(props, dict) else None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
