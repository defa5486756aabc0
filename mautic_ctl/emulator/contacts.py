"""/api/contacts handlers: list, get, upsert, edit, batch new/edit/delete, delete, memberships."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .contact_query import run_query
from .contact_view import View, contact_dict
from .contact_write import ContactWriter
from .context import Ctx, php_array
from .errors import ApiError, ServerError, api_response, not_found
from .php import truthy
from .seed import company_field_template
from .state import Contact, iso

ITEM_NOT_FOUND = {"message": "Item was not found.", "code": 404, "type": "api"}


def _contact(ctx: Ctx) -> Contact:
    contact = ctx.state.contacts.get(ctx.args["id"])
    if contact is None:
        raise not_found()
    return contact


def _select(ctx: Ctx) -> list[str] | None:
    raw = ctx.query.get("select")
    if raw is None:
        return None
    values = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else str(raw).split(",")
    return [str(v).strip() for v in values]


def list_contacts(ctx: Ctx) -> Response:
    total, rows = run_query(ctx.state, ctx.query)
    minimal = truthy(ctx.query.get("minimal"))
    select = _select(ctx)
    body = {str(c.id): contact_dict(ctx.state, c, minimal=minimal, select=select) for c in rows}
    return api_response({"total": str(total), "contacts": body})


def get_contact(ctx: Ctx) -> Response:
    return api_response({"contact": contact_dict(ctx.state, _contact(ctx))})


def _written(ctx: Ctx, result: Any) -> Response:
    body = {"contact": contact_dict(ctx.state, result.contact, result.view)}
    if result.created:
        return api_response(body, 201, {"Location": f"/api/contacts/{result.contact.id}"})
    return api_response(body)


def new_contact(ctx: Ctx) -> Response:
    body = ctx.body if ctx.body is not None else {}
    result = ContactWriter(ctx.state, ctx.actor).upsert(body)
    return _written(ctx, result)


def edit_contact(ctx: Ctx) -> Response:
    contact = ctx.state.contacts.get(ctx.args["id"])
    if contact is None and ctx.method == "PATCH":
        raise not_found()
    result = ContactWriter(ctx.state, ctx.actor).apply(contact, ctx.body or {}, ctx.method)
    return _written(ctx, result)


def delete_contact(ctx: Ctx) -> Response:
    contact = _contact(ctx)
    body = contact_dict(ctx.state, contact, deleted=True)
    ctx.state.delete_contact(contact.id)
    return api_response({"contact": body})


def _batch_payload(ctx: Ctx) -> list[Any]:
    if not isinstance(ctx.body, list):
        raise ServerError()
    if len(ctx.body) > ctx.batch_max:
        raise ApiError(500, f"A max of {ctx.batch_max} entities are supported at a time.")
    ctx.items = len(ctx.body)
    return ctx.body


def _batch_body(contacts: dict[int, Any], codes: list[int], errors: dict[int, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"contacts": php_array(contacts), "statusCodes": codes}
    if errors:
        body["errors"] = php_array(errors)
    return body


def batch_new(ctx: Ctx) -> Response:
    items = _batch_payload(ctx)
    writer = ContactWriter(ctx.state, ctx.actor)
    contacts: dict[int, Any] = {}
    errors: dict[int, Any] = {}
    codes: list[int] = []
    for i, item in enumerate(items):
        try:
            result = writer.upsert(item if isinstance(item, dict) else {}, existing_method="PATCH")
        except ApiError as exc:
            codes.append(exc.code)
            errors[i] = exc.batch_item()
            continue
        ctx.new_items += int(result.created)
        codes.append(201 if result.created else 200)
        contacts[i] = contact_dict(ctx.state, result.contact, result.view)
    return api_response(_batch_body(contacts, codes, errors), 201)


def batch_edit(ctx: Ctx) -> Response:
    items = _batch_payload(ctx)
    writer = ContactWriter(ctx.state, ctx.actor)
    contacts: dict[int, Any] = {}
    errors: dict[int, Any] = {}
    codes: list[int] = []
    for i, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        raw_id = item.get("id")
        contact = ctx.state.contacts.get(_as_id(raw_id)) if raw_id not in (None, "") else None
        if contact is None and (raw_id in (None, "") or ctx.method == "PATCH"):
            codes.append(404)
            errors[i] = dict(ITEM_NOT_FOUND)
            continue
        try:
            result = writer.apply(contact, item, ctx.method)
        except ApiError as exc:
            codes.append(exc.code)
            errors[i] = exc.batch_item()
            if contact is not None:
                contacts[i] = contact_dict(ctx.state, contact, View(shape="raw"))
            continue
        codes.append(201 if result.created else 200)
        contacts[i] = contact_dict(ctx.state, result.contact, result.view)
    return api_response(_batch_body(contacts, codes, errors))


def _as_id(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def batch_delete(ctx: Ctx) -> Response:
    raw = ctx.query.get("ids")
    if isinstance(raw, dict):
        ids = list(raw.values())
    elif isinstance(raw, list):
        ids = raw
    else:
        ids = [i for i in str(raw or "").split(",") if i.strip()]
    if len(ids) > ctx.batch_max:
        raise ApiError(500, f"A max of {ctx.batch_max} entities are supported at a time.")
    ctx.items = len(ids)
    deleted: dict[int, Any] = {}
    for cid in (_as_id(i) for i in ids):
        contact = ctx.state.contacts.get(cid)
        if contact is not None:
            deleted[len(deleted)] = contact_dict(ctx.state, contact, deleted=True)
            ctx.state.delete_contact(cid)
    return api_response({"contacts": php_array(deleted)})


def contact_segments(ctx: Ctx) -> Response:
    contact = _contact(ctx)
    rows = {
        str(s.id): {
            "id": s.id,
            "name": s.name,
            "alias": s.alias,
            "dateAdded": iso(row.date_added),
            "manuallyRemoved": row.manually_removed,
            "manuallyAdded": row.manually_added,
        }
        for s, row in ctx.state.active_segments(contact.id)
    }
    return api_response({"total": len(rows), "lists": rows or []})


def contact_campaigns(ctx: Ctx) -> Response:
    contact = _contact(ctx)
    rows = {
        str(c.id): {
            "id": c.id,
            "name": c.name,
            "listMembership": list(c.segment_ids),
            "dateAdded": iso(row.date_added),
            "manuallyRemoved": row.manually_removed,
            "manuallyAdded": row.manually_added,
        }
        for c, row in ctx.state.active_campaigns(contact.id)
        if c.is_published
    }
    return api_response({"total": len(rows), "campaigns": rows or []})


def usable_segments(ctx: Ctx) -> Response:
    published = sorted((s for s in ctx.state.segments.values() if s.is_published), key=lambda s: s.name.lower())
    body = {str(s.id): {"id": s.id, "name": s.name, "alias": s.alias} for s in published}
    return api_response(body or [])


def contact_companies(ctx: Ctx) -> Response:
    contact = _contact(ctx)
    rows = []
    for n, (company_id, linked) in enumerate(ctx.state.contact_companies.get(contact.id, [])):
        company = ctx.state.companies[company_id]
        stamp = linked.strftime("%Y-%m-%d %H:%M:%S")
        row: dict[str, Any] = {
            "company_id": str(company.id),
            "date_associated": stamp,
            "is_primary": "1" if n == 0 else "0",
            "id": str(company.id),
            "is_published": "1",
            "date_added": company.date_added.strftime("%Y-%m-%d %H:%M:%S"),
            "created_by": str(company.created_by.user_id) if company.created_by else None,
            "created_by_user": company.created_by.name if company.created_by else None,
            "social_cache": "a:0:{}",
            "score": "0",
            "companyname": company.name,
        }
        rows.append({k: v for k, v in row.items() if v is not None})
    return api_response({"total": len(rows), "companies": rows})


def list_companies(ctx: Ctx) -> Response:
    term = str(ctx.query.get("search") or "").strip().lower()
    found = [c for c in ctx.state.companies.values() if term in c.name.lower()]
    body = {str(c.id): _company_dict(c.id, c.name) for c in found}
    return api_response({"total": str(len(found)), "companies": body})


def _company_dict(company_id: int, name: str) -> dict[str, Any]:
    groups: dict[str, Any] = {"core": {}, "professional": {}, "other": []}
    every: dict[str, Any] = {"id": company_id}
    for row in company_field_template():
        value = name if row["alias"] == "companyname" else None
        groups.setdefault(row["group"], {})[row["alias"]] = {
            "id": str(row["id"]),
            "label": row["label"],
            "alias": row["alias"],
            "type": row["type"],
            "group": row["group"],
            "object": "company",
            "is_fixed": "1" if row["isFixed"] else "0",
            "properties": row["properties_php"],
            "default_value": None,
            "value": value,
            "normalizedValue": value if value is not None else "",
        }
        every[row["alias"]] = value
    groups["all"] = every
    return {"id": company_id, "score": 0, "fields": groups}
