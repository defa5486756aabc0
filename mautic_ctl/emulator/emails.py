"""Emails and their statistics: `/api/emails`, `/api/emails/{id}` and two `/api/stats/{table}` tables.

What a campaign's email did, as Mautic counts it. The email entity carries ``sentCount`` and
``readCount`` (the developer docs' "Get Email" response). The stats endpoint
(``CoreBundle/Controller/Api/StatsApiController::listAction``) answers ``{"total": …, "stats": [rows]}``
with raw table rows; like the campaign-contacts listing it forwards to, values come back as strings.
``email_stats`` holds one row per email sent to a contact (``is_read`` once opened); ``page_hits``
holds a row per click on a tracked link, with the email's id in ``email_id``.

Sending happens in ``mautic:campaigns:trigger`` (an ``email.send`` event, ``properties.email``); reads
and clicks happen in the recipient's mail client, so tests record them with ``read`` and ``click``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import Response

from .contact_query import page
from .context import Ctx
from .errors import api_response, not_found
from .state import Actor, MauticState, iso, utcnow


@dataclass
class Email:
    id: int
    name: str
    subject: str
    email_type: str = "template"  # campaign emails are "template" emails; "list" is a segment newsletter
    is_published: bool = True
    sent_count: int = 0
    read_count: int = 0
    date_added: datetime | None = None
    created_by: Actor | None = None


def add_email(state: MauticState, name: str, subject: str | None = None) -> Email:
    """A campaign email as a marketer would have made it in the UI (there is no need to create one by API)."""
    with state.lock:
        email = Email(state.next_id("email"), name, subject or name, date_added=utcnow())
        state.emails[email.id] = email
        return email


def send(state: MauticState, email_id: int, contact_id: int) -> None:
    email = state.emails.get(email_id)
    if email is None:
        return
    email.sent_count += 1
    state.email_stats.append(
        {"email_id": email_id, "lead_id": contact_id, "is_read": 0, "date_sent": utcnow(), "date_read": None}
    )


def read(state: MauticState, email_id: int, contact_id: int) -> None:
    """The contact opened the email (tracking pixel): the first open of a sent email counts as a read."""
    with state.lock:
        for row in state.email_stats:
            if row["email_id"] == email_id and row["lead_id"] == contact_id and not row["is_read"]:
                row["is_read"], row["date_read"] = 1, utcnow()
                state.emails[email_id].read_count += 1
                return


def click(state: MauticState, email_id: int, contact_id: int, url: str = "https://example.com/") -> None:
    with state.lock:
        state.page_hits.append(
            {"id": len(state.page_hits) + 1, "email_id": email_id, "lead_id": contact_id, "url": url,
             "source": "email", "source_id": email_id, "date_hit": utcnow()}
        )  # fmt: skip


def email_dict(e: Email) -> dict[str, Any]:
    return {
        "isPublished": e.is_published,
        "dateAdded": iso(e.date_added),
        "dateModified": None,
        "createdBy": e.created_by.user_id if e.created_by else None,
        "createdByUser": e.created_by.name if e.created_by else None,
        "modifiedBy": None,
        "modifiedByUser": None,
        "id": e.id,
        "name": e.name,
        "subject": e.subject,
        "language": "en",
        "category": None,
        "fromAddress": None,
        "fromName": None,
        "replyToAddress": None,
        "bccAddress": None,
        "customHtml": "",
        "plainText": None,
        "template": None,
        "emailType": e.email_type,
        "publishUp": None,
        "publishDown": None,
        "readCount": e.read_count,
        "sentCount": e.sent_count,
        "revision": 1,
        "assetAttachments": [],
        "variantStartDate": None,
        "variantSentCount": 0,
        "variantReadCount": 0,
        "variantParent": None,
        "variantChildren": [],
        "translationParent": None,
        "translationChildren": [],
        "unsubscribeForm": None,
        "dynamicContent": [],
        "lists": [],
    }


def list_emails(ctx: Ctx) -> Response:
    rows = [email_dict(e) for e in sorted(ctx.state.emails.values(), key=lambda e: e.id)]
    listed = page(rows, ctx.query, default_limit=30)
    return api_response({"total": len(rows), "emails": {str(r["id"]): r for r in listed}})


def get_email(ctx: Ctx) -> Response:
    email = ctx.state.emails.get(ctx.args["id"])
    if email is None:
        raise not_found()
    return api_response({"email": email_dict(email)})


def _stats(ctx: Ctx, rows: list[dict[str, Any]]) -> Response:
    where = ctx.query.get("where")
    clauses = where.values() if isinstance(where, dict) else where if isinstance(where, list) else []
    for clause in clauses:
        if isinstance(clause, dict) and clause.get("expr", "eq") == "eq":
            col, val = str(clause.get("col")), str(clause.get("val"))
            rows = [r for r in rows if _text(r.get(col)) == val]
    listed = page([{k: _text(v) for k, v in r.items()} for r in rows], ctx.query, default_limit=100)
    return api_response({"total": str(len(rows)), "stats": listed})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def stats_email_stats(ctx: Ctx) -> Response:
    return _stats(ctx, list(ctx.state.email_stats))


def stats_page_hits(ctx: Ctx) -> Response:
    return _stats(ctx, list(ctx.state.page_hits))
