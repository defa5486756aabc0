"""/api/campaigns handlers, with the create rules of O14 and the membership rules of §7."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .contact_query import page
from .context import Ctx
from .errors import CONTACT_NOT_FOUND, ApiError, ServerError, api_response, not_found
from .php import truthy
from .state import Campaign, CampaignEvent, MauticState, iso, utcnow

NO_EVENTS = "At least one event is required. Use the Launch Campaign Builder button to add one."
NO_SOURCE = "At least one contact source is required. Use the Launch Campaign Builder button to add one."
EVENT_TYPES = frozenset(
    {
        "lead.changepoints",
        "lead.changelist",
        "lead.changetags",
        "lead.updatelead",
        "lead.changeowner",
        "lead.changecompanyscore",
        "lead.deletecontact",
        "lead.addtocompany",
        "lead.adddnc",
        "lead.removednc",
        "lead.field_value",
        "lead.device",
        "lead.tags",
        "lead.segments",
        "lead.owner",
        "lead.points",
        "lead.stages",
        "email.send",
        "email.open",
        "email.click",
        "email.reply",
        "email.send.to.user",
        "campaign.addremovelead",
        "campaign.jump_to_event",
        "form.submit",
        "page.pagehit",
        "asset.download",
        "sms.send_text_sms",
        "stage.change",
        "message.send",
        "dwc.decision",
        "campaign.sendwebhook",
        "notification.send_notification",
    }
)


def event_dict(e: CampaignEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "description": e.description,
        "type": e.type,
        "eventType": e.event_type,
        "channel": None,
        "channelId": None,
        "order": e.order,
        "properties": e.properties,
        "triggerDate": None,
        "triggerInterval": 0,
        "triggerIntervalUnit": None,
        "triggerHour": None,
        "triggerRestrictedStartHour": None,
        "triggerRestrictedStopHour": None,
        "triggerRestrictedDaysOfWeek": [],
        "triggerMode": e.trigger_mode,
        "decisionPath": e.decision_path,
        "parent": None,
        "children": [],
    }


def campaign_dict(state: MauticState, c: Campaign, *, minimal: bool = False, deleted: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "isPublished": c.is_published,
        "dateAdded": iso(c.date_added),
        "dateModified": iso(c.date_modified),
        "createdBy": c.created_by.user_id if c.created_by else None,
        "createdByUser": c.created_by.name if c.created_by else None,
        "modifiedBy": c.modified_by.user_id if c.modified_by else None,
        "modifiedByUser": c.modified_by.name if c.modified_by else None,
        "id": None if deleted else c.id,
        "name": c.name,
        "category": None,
        "description": c.description,
    }
    if minimal:
        return body
    lists = []
    for sid in [] if deleted else c.segment_ids:
        s = state.segments.get(sid)
        if s is not None:
            lists.append(
                {
                    "createdByUser": s.created_by.name if s.created_by else None,
                    "modifiedByUser": s.modified_by.name if s.modified_by else None,
                    "id": s.id,
                    "name": s.name,
                    "publicName": s.public_name,
                    "alias": s.alias,
                    "description": s.description,
                    "category": None,
                }
            )
    body.update(
        {
            "allowRestart": c.allow_restart,
            "publishUp": iso(c.publish_up),
            "publishDown": iso(c.publish_down),
            "events": [] if deleted else [event_dict(e) for e in c.events],
            "forms": [],
            "lists": lists,
            "canvasSettings": c.canvas_settings,
        }
    )
    return body


def _matches(c: Campaign, search: str) -> bool:
    for token in search.split():
        cmd, _, value = token.partition(":") if ":" in token else ("", "", token)
        value = value.lower()
        if cmd == "ids":
            if str(c.id) not in value.split(","):
                return False
        elif cmd == "is":
            if (value == "published" and not c.is_published) or (value == "unpublished" and c.is_published):
                return False
        elif value not in c.name.lower():
            return False
    return True


def list_campaigns(ctx: Ctx) -> Response:
    search = str(ctx.query.get("search") or "")
    rows = sorted((c for c in ctx.state.campaigns.values() if _matches(c, search)), key=lambda c: c.id)
    if truthy(ctx.query.get("published")):
        rows = [c for c in rows if c.is_published]
    minimal = truthy(ctx.query.get("minimal"))
    body = {str(c.id): campaign_dict(ctx.state, c, minimal=minimal) for c in page(rows, ctx.query)}
    return api_response({"total": len(rows), "campaigns": body or []})


def _campaign(ctx: Ctx) -> Campaign:
    campaign = ctx.state.campaigns.get(ctx.args["id"])
    if campaign is None:
        raise not_found()
    return campaign


def get_campaign(ctx: Ctx) -> Response:
    return api_response({"campaign": campaign_dict(ctx.state, _campaign(ctx))})


def _events(state: MauticState, raw: list[Any]) -> tuple[list[CampaignEvent], dict[str, str]]:
    events, placeholders = [], {}
    for item in raw:
        if not isinstance(item, dict) or not item.get("name") or item.get("type") not in EVENT_TYPES:
            raise ServerError()
        event = CampaignEvent(
            id=state.next_id("event"),
            name=str(item["name"]),
            type=str(item["type"]),
            event_type=str(item.get("eventType") or "action"),
            order=int(item.get("order") or 0),
            properties=item.get("properties") or [],
            trigger_mode=item.get("triggerMode"),
            decision_path=item.get("decisionPath"),
        )
        if item.get("id") is not None:
            placeholders[str(item["id"])] = str(event.id)
        events.append(event)
    return events, placeholders


def _canvas(raw: Any, placeholders: dict[str, str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"nodes": [], "connections": []}
    nodes = [dict(n, id=placeholders.get(str(n.get("id")), n.get("id"))) for n in raw.get("nodes") or []]
    connections = []
    for conn in raw.get("connections") or []:
        conn = dict(conn)
        for key in ("sourceId", "targetId"):
            conn[key] = placeholders.get(str(conn.get(key)), conn.get(key))
        connections.append(conn)
    return {"nodes": nodes, "connections": connections}


def new_campaign(ctx: Ctx) -> Response:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    events_raw, lists_raw, forms_raw = body.get("events"), body.get("lists"), body.get("forms")
    if not isinstance(events_raw, list) or not events_raw:
        raise ApiError(400, NO_EVENTS)
    if not (isinstance(lists_raw, list) and lists_raw) and not (isinstance(forms_raw, list) and forms_raw):
        raise ApiError(400, NO_SOURCE)
    state = ctx.state
    events, placeholders = _events(state, events_raw)
    segment_ids = [
        int(item["id"])
        for item in lists_raw or []
        if isinstance(item, dict) and str(item.get("id", "")).isdigit() and int(item["id"]) in state.segments
    ]
    now = utcnow()
    campaign = Campaign(
        id=state.next_id("campaign"),
        name=str(body.get("name") or ""),
        description=body.get("description"),
        is_published=truthy(body.get("isPublished", True)),
        allow_restart=truthy(body.get("allowRestart")),
        events=events,
        segment_ids=segment_ids,
        canvas_settings=_canvas(body.get("canvasSettings"), placeholders),
        date_added=now,
        created_by=ctx.actor,
        modified_by=ctx.actor,
    )
    state.campaigns[campaign.id] = campaign
    return api_response(
        {"campaign": campaign_dict(state, campaign)}, 201, {"Location": f"/api/campaigns/{campaign.id}"}
    )


def edit_campaign(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if "name" in body:
        campaign.name = str(body["name"])
    if "description" in body:
        campaign.description = body["description"]
    if "isPublished" in body:
        campaign.is_published = truthy(body["isPublished"])
    if "allowRestart" in body:
        campaign.allow_restart = truthy(body["allowRestart"])
    campaign.date_modified = utcnow()
    campaign.modified_by = ctx.actor
    return api_response({"campaign": campaign_dict(ctx.state, campaign)})


def delete_campaign(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    body = campaign_dict(ctx.state, campaign, deleted=True)
    ctx.state.delete_campaign(campaign.id)
    return api_response({"campaign": body})


def add_contact(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    if ctx.args["cid"] not in ctx.state.contacts:
        raise not_found()
    ctx.state.campaign_add(campaign.id, ctx.args["cid"])
    return api_response({"success": 1})


def remove_contact(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    if ctx.args["cid"] not in ctx.state.contacts:
        raise ApiError(404, CONTACT_NOT_FOUND)
    ctx.state.campaign_remove(campaign.id, ctx.args["cid"])
    return api_response({"success": 1})


def campaign_contacts(ctx: Ctx) -> Response:
    campaign = _campaign(ctx)
    rows = [
        {
            "campaign_id": str(campaign.id),
            "lead_id": str(cid),
            "date_added": row.date_added.strftime("%Y-%m-%d %H:%M:%S"),
            "manually_removed": "0",
            "manually_added": "1" if row.manually_added else "0",
            "rotation": str(row.rotation),
        }
        for cid, row in ctx.state.campaign_rows(campaign.id)
    ]
    return api_response({"total": str(len(rows)), "contacts": page(rows, ctx.query, default_limit=100)})
