"""The API route table and its matcher.

Like Mautic's router, a path that exists for another method is still "not found" (404, O5), and
`{id}`-style parameters only match digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from . import campaigns, contacts, emails, fields, segments
from .context import Ctx

Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    template: str
    handler: Handler
    pattern: re.Pattern[str]


DIGITS = r"\d+"
TEXT_PARAMS = {"channel": r"[A-Za-z0-9_.-]+", "operator": r"plus|minus|times|divide|set"}
"""Path parameters that are not digits; every other `{name}` only matches digits, like Mautic's router."""


def _route(methods: str, template: str, handler: Handler) -> Route:
    def param(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>{TEXT_PARAMS.get(name, DIGITS)})"

    regex = re.sub(r"\{(\w+)\}", param, template)
    return Route(frozenset(methods.split("|")), template, handler, re.compile(f"^{regex}$"))


ROUTES: list[Route] = [
    _route("GET", "/api/contacts", contacts.list_contacts),
    _route("POST", "/api/contacts/new", contacts.new_contact),
    _route("POST", "/api/contacts/batch/new", contacts.batch_new),
    _route("PUT|PATCH", "/api/contacts/batch/edit", contacts.batch_edit),
    _route("DELETE", "/api/contacts/batch/delete", contacts.batch_delete),
    _route("GET", "/api/contacts/list/segments", contacts.usable_segments),
    _route("GET", "/api/contacts/{id}", contacts.get_contact),
    _route("PUT|PATCH", "/api/contacts/{id}/edit", contacts.edit_contact),
    _route("DELETE", "/api/contacts/{id}/delete", contacts.delete_contact),
    _route("GET", "/api/contacts/{id}/segments", contacts.contact_segments),
    _route("GET", "/api/contacts/{id}/campaigns", contacts.contact_campaigns),
    _route("GET", "/api/contacts/{id}/companies", contacts.contact_companies),
    _route("POST", "/api/contacts/{id}/dnc/{channel}/add", contacts.add_dnc),
    _route("POST", "/api/contacts/{id}/dnc/{channel}/remove", contacts.remove_dnc),
    _route("POST", "/api/contacts/{id}/points/{operator}/{delta}", contacts.adjust_points),
    _route("GET", "/api/companies", contacts.list_companies),
    _route("GET", "/api/segments", segments.list_segments),
    _route("POST", "/api/segments/new", segments.new_segment),
    _route("GET", "/api/segments/{id}", segments.get_segment),
    _route("PUT|PATCH", "/api/segments/{id}/edit", segments.edit_segment),
    _route("DELETE", "/api/segments/{id}/delete", segments.delete_segment),
    _route("POST", "/api/segments/{id}/contact/{cid}/add", segments.add_contact),
    _route("POST", "/api/segments/{id}/contact/{cid}/remove", segments.remove_contact),
    _route("POST", "/api/segments/{id}/contacts/add", segments.add_contacts),
    _route("GET", "/api/campaigns", campaigns.list_campaigns),
    _route("POST", "/api/campaigns/new", campaigns.new_campaign),
    _route("GET", "/api/campaigns/{id}", campaigns.get_campaign),
    _route("PUT|PATCH", "/api/campaigns/{id}/edit", campaigns.edit_campaign),
    _route("DELETE", "/api/campaigns/{id}/delete", campaigns.delete_campaign),
    _route("POST", "/api/campaigns/{id}/contact/{cid}/add", campaigns.add_contact),
    _route("POST", "/api/campaigns/{id}/contact/{cid}/remove", campaigns.remove_contact),
    _route("GET", "/api/campaigns/{id}/contacts", campaigns.campaign_contacts),
    _route("GET", "/api/emails", emails.list_emails),
    _route("GET", "/api/emails/{id}", emails.get_email),
    _route("GET", "/api/stats/email_stats", emails.stats_email_stats),
    _route("GET", "/api/stats/page_hits", emails.stats_page_hits),
    _route("GET", "/api/fields/contact", fields.list_fields),
    _route("POST", "/api/fields/contact/new", fields.new_field),
    _route("GET", "/api/fields/contact/{id}", fields.get_field),
    _route("PUT|PATCH", "/api/fields/contact/{id}/edit", fields.edit_field),
    _route("DELETE", "/api/fields/contact/{id}/delete", fields.delete_field),
]


def match(method: str, path: str) -> tuple[Route, dict[str, Any]] | None:
    """The route serving (method, path), with its integer arguments; None means router 404."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and method in route.methods:
            return route, {k: v if k in TEXT_PARAMS else int(v) for k, v in found.groupdict().items()}
    return None


def template_of(path: str) -> str | None:
    """The template a path belongs to, whatever the method (for counters)."""
    for route in ROUTES:
        if route.pattern.match(path):
            return route.template
    return None
