"""/api/contacts handlers: list, get, upsert, edit, batch new/edit/delete, delete, memberships.

batch/edit pairs payloads with contacts the way Mautic 5.1.0's BatchIdToEntityHelper does: the found
contacts are keyed by the position of their id among the items that *have* an id, so an id-less item
takes the next item's contact and every later payload lands one contact late (D8), and a contact
named twice is the same (detached) object twice, whose second save inserts a copy (D7). Answers are
PHP arrays in insertion order, so they print as objects when keys come out of order (D9).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .contact_query import run_query
from .contact_view import View, contact_dict
from .contact_write import ContactWriter
from .context import Ctx, php_array
from .errors import CONTACT_NOT_FOUND, ApiError, ServerError, api_response, not_found
from .php import truthy
from .seed import company_field_template
from .state import Contact, iso, utcnow

ITEM_NOT_FOUND = {"message": "Item was not found.", "code": 404, "type": "api"}
ID_MISSING = {"message": "mautic.api.call.id_missing", "code": 400, "type": "api"}
"""D8: setBatchError with a message Mautic has no translation for."""


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
    select = [str(v).strip() for v in values]
    if "id" not in select:
        raise ServerError()  # D11: the hydration needs the id column
    return select


def list_contacts(ctx: Ctx) -> Response:
    select = _select(ctx)
    total, rows = run_query(ctx.state, ctx.query)
    minimal = truthy(ctx.query.get("minimal"))
    view = View(bool_strings=True)  # D5
    body = {str(c.id): contact_dict(ctx.state, c, view, minimal=minimal, select=select) for c in rows}
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
    body = contact_dict(ctx.state, contact, deleted=True)  # D12: id and fields.all.id null, no tags
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
    items = [item if isinstance(item, dict) else {} for item in _batch_payload(ctx)]
    state = ctx.state
    writer = ContactWriter(state, ctx.actor)
    errors: dict[int, Any] = {}
    paired = _pair_with_contacts(state, items, errors)
    contacts: dict[int, Contact] = dict(paired)
    views: dict[int, View] = {}
    codes: dict[int, int] = {}
    saved: set[int] = set()
    for i, item in enumerate(items):
        contact = paired.get(i)
        if contact is None and ctx.method == "PATCH":
            contacts.pop(i, None)
            errors[i] = dict(ITEM_NOT_FOUND)
            codes[i] = 404
            continue
        twice = contact is not None and contact.id in saved
        target = _detached_copy(contact) if twice and contact is not None else contact
        try:
            result = writer.apply(target, item, ctx.method)
        except ApiError as exc:
            errors[i] = exc.batch_item()
            codes[i] = exc.code
            if contact is not None:
                views[i] = View(shape="raw")
            continue
        if twice:
            _insert_copy(state, result.contact)  # D7: a second contact with the same email
        saved.add(result.contact.id)
        views[i] = _batch_view(result.view)
        for j in [j for j, c in contacts.items() if twice and c is contact] + [i]:
            contacts[j] = result.contact  # one PHP object, printed alike at every position it holds
            views[j] = views[i]
        codes[i] = errors[i]["code"] if i in errors else 201 if result.created else 200
    body_contacts = {i: contact_dict(state, c, views.get(i, View(bool_strings=True))) for i, c in contacts.items()}
    return api_response(_batch_body(body_contacts, [codes[i] for i in range(len(items))], errors))


def _pair_with_contacts(state: Any, items: list[dict[str, Any]], errors: dict[int, Any]) -> dict[int, Contact]:
    """BatchIdToEntityHelper: the n-th found contact goes to the n-th item of the request (D8).

    The positions count the items that have an id, so after an id-less item (a 400
    `mautic.api.call.id_missing` error) every contact slides one item earlier; an unknown id keeps its
    position and pairs with nothing. With no id at all in the request nothing is paired and no
    id_missing error is recorded.
    """
    ids = [item.get("id") for item in items]
    if all(raw in (None, "") for raw in ids):
        return {}
    paired: dict[int, Contact] = {}
    position = 0
    for i, raw in enumerate(ids):
        if raw in (None, ""):
            errors[i] = dict(ID_MISSING)
            continue
        contact = state.contacts.get(_as_id(raw))
        if contact is not None:
            paired[position] = contact
        position += 1
    return paired


def _detached_copy(contact: Contact) -> Contact:
    """The contact object after Doctrine detached it: saving it again inserts a new row (D7)."""
    return Contact(
        id=contact.id,
        values=dict(contact.values),
        points=contact.points,
        tag_ids=list(contact.tag_ids),
        owner_id=contact.owner_id,
        date_added=contact.date_added,
        date_identified=contact.date_identified,
        created_by=contact.created_by,
        dnc=dict(contact.dnc),
        detached=True,
    )


def _insert_copy(state: Any, copy: Contact) -> None:
    copy.id = state.next_id("contact")
    copy.detached = False
    state.add_contact(copy)


def _batch_view(view: View) -> View:
    """batch/edit answers print booleans as "0"/"1" strings rather than the PATCH echo (D5)."""
    view.bool_strings = True
    for values in (view.all_values, view.core_values):
        for alias in [a for a, v in values.items() if isinstance(v, bool)]:
            del values[alias]
    return view


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
    for position, cid in enumerate(_as_id(i) for i in ids):
        contact = ctx.state.contacts.get(cid)
        if contact is not None:
            # D9: keyed by the position in `ids`, real ids kept; D5: booleans as strings
            deleted[position] = contact_dict(ctx.state, contact, View(bool_strings=True))
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


def add_dnc(ctx: Ctx) -> Response:
    """POST /contacts/{id}/dnc/{channel}/add (§5.7): reason defaults to 3, 0 is refused."""
    contact = _contact(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    reason = _php_int(body.get("reason", MANUAL))
    if reason == 0:
        raise ApiError(400, "Invalid reason code given", ["Reason code needs to be an integer and higher than 0."])
    channel_id = _php_int(body.get("channelId")) or None
    comments = str(body.get("comments") or "")
    if ctx.state.add_dnc(contact, ctx.args["channel"], reason, comments, channel_id):
        contact.date_modified = utcnow()
        contact.modified_by = ctx.actor
    return api_response({"contact": contact_dict(ctx.state, contact)})


def remove_dnc(ctx: Ctx) -> Response:
    """POST /contacts/{id}/dnc/{channel}/remove: `recordFound` says whether an entry was deleted."""
    contact = _contact(ctx)
    found = contact.dnc.pop(str(ctx.args["channel"]), None) is not None
    return api_response({"recordFound": found, "contact": contact_dict(ctx.state, contact)})


def adjust_points(ctx: Ctx) -> Response:
    """POST /contacts/{id}/points/{operator}/{delta} (PointApiController): a logged, relative change."""
    contact = ctx.state.contacts.get(ctx.args["id"])
    if contact is None:
        raise ApiError(404, CONTACT_NOT_FOUND)
    delta = ctx.args["delta"]
    if delta:
        before = contact.points
        contact.points = POINT_OPERATORS[str(ctx.args["operator"])](before, delta)
        if contact.points != before:
            contact.date_modified = utcnow()
            contact.modified_by = ctx.actor
    return api_response({"success": 1})


POINT_OPERATORS = {
    "plus": lambda points, delta: points + delta,
    "minus": lambda points, delta: points - delta,
    "times": lambda points, delta: points * delta,
    "divide": lambda points, delta: int(points / delta),
    "set": lambda points, delta: delta,
}
"""Lead::adjustPoints; a zero delta changes nothing."""
MANUAL = 3


def _php_int(raw: Any) -> int:
    """PHP's (int) cast of a request value."""
    if isinstance(raw, bool):
        return int(raw)
    try:
        return int(float(raw))
    except (TypeError, ValueError):
        return 0
