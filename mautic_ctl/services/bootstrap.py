"""bootstrap: create in Mautic what the configuration names but Mautic lacks — never touching what exists.

The plan is pure (``plan_bootstrap`` compares the configuration with what Mautic lists); applying it is
one create call per missing item. A second run plans nothing: everything it created is found by name.
Campaigns are created only on request, unpublished, as named shells for marketers to fill: mautic-ctl
only ever enters contacts into them, their content is a marketer's work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mautic_ctl.config import FieldType
from mautic_ctl.services.resolve import as_id, match_name
from mautic_ctl.services.runtime import Runtime

MONEY_FIELDS = frozenset({"lifetime_value"})  # money keeps its cents: a number field with scale 2
# What a campaign shell needs to be accepted by Mautic 5 (fact sheet, campaigns: Create): one event
# and one contact source. The event does nothing visible; marketers replace it.
SHELL_EVENT = {
    "name": "Placeholder (replace with the campaign's real steps)",
    "type": "lead.changepoints",
    "eventType": "action",
    "properties": {"points": 0},
}


@dataclass(frozen=True, slots=True)
class Item:
    """One thing the configuration needs in Mautic, and what bootstrap does about it."""

    kind: str  # segment | field | campaign
    key: str  # config key: new_users, pro, onboarding.pro, lifetime_value …
    name: str  # the name (segments, campaigns) or alias (fields) in Mautic
    action: str  # create | exists | conflict
    mautic_id: int | None = None
    detail: str = ""
    body: dict[str, Any] = field(default_factory=dict)  # the create call's payload


@dataclass(slots=True)
class BootstrapPlan:
    items: list[Item]
    applied: bool = False

    @property
    def to_create(self) -> list[Item]:
        return [i for i in self.items if i.action == "create"]

    @property
    def conflicts(self) -> list[Item]:
        return [i for i in self.items if i.action == "conflict"]


def default_segment_name(key: str) -> str:
    return {"new_users": "New Users", "churned": "Churned"}.get(key, f"{key.replace('_', ' ').title()} Tier")


def default_campaign_name(key: str) -> str:
    if key.startswith("onboarding."):
        return f"{key.split('.', 1)[1].replace('_', ' ').title()} Onboarding"
    return {"welcome": "Welcome", "retention": "Retention", "winback": "Win-back"}[key]


def field_body(alias: str, ftype: FieldType, max_length: int | None, choices: tuple[str, ...]) -> dict[str, Any]:
    """The POST /api/fields/contact/new payload for one managed field (fact sheet, fields: Create)."""
    body: dict[str, Any] = {
        "label": alias.replace("_", " ").title(),
        "alias": alias,
        "type": ftype.value,
        "group": "core",
        "isPublished": True,
    }
    if ftype is FieldType.NUMBER:
        body["properties"] = {"scale": 2 if alias in MONEY_FIELDS else 0, "roundmode": 4}
    elif ftype is FieldType.SELECT:
        body["properties"] = {"list": [{"label": c, "value": c} for c in choices]}
    elif ftype is FieldType.BOOLEAN:
        body["properties"] = {"yes": "Yes", "no": "No"}
    if ftype in (FieldType.TEXT, FieldType.SELECT):
        body["charLengthLimit"] = max(64, min(255, max_length or 191))
    return body


def _entity_item(kind: str, key: str, ref: Any, default: str, entities: list[dict[str, Any]]) -> Item:
    by_id = {int(e["id"]): e for e in entities}
    wanted_id = as_id(ref) if ref is not None else None
    name = default if ref is None or wanted_id is not None else str(ref)
    found = by_id.get(wanted_id) if wanted_id is not None else None
    if found is None:
        match = match_name(entities, name)
        found = by_id.get(match) if match is not None else None
    if found is None:
        why = f"id {wanted_id} is not in Mautic" if wanted_id is not None else "not in Mautic"
        return Item(kind, key, name, "create", detail=why)
    detail = "" if found.get("isPublished", True) else "unpublished: publish it in Mautic (bootstrap never edits)"
    return Item(kind, key, str(found.get("name") or name), "exists", int(found["id"]), detail)


def plan_bootstrap(
    settings: Any,
    segments: list[dict[str, Any]],
    campaigns: list[dict[str, Any]],
    fields: list[dict[str, Any]],
    *,
    with_campaigns: bool,
) -> BootstrapPlan:
    """Pure: what to create so the configuration is complete in Mautic; what exists is left as it is."""
    items: list[Item] = []
    for key in ("new_users", *settings.lifecycle.tiers, "churned"):
        ref = settings.segments.get(key)
        item = _entity_item("segment", key, ref, default_segment_name(key), segments)
        items.append(item if item.action != "create" else _with(item, body={"name": item.name, "isPublished": True}))
    by_alias = {f.get("alias"): f for f in fields}
    for alias, spec in settings.field_specs().items():
        found = by_alias.get(alias)
        if found is None:
            body = field_body(alias, spec.type, spec.max_length, spec.choices)
            items.append(Item("field", alias, alias, "create", detail=_field_detail(body), body=body))
        elif found.get("type") != spec.type.value and not (
            spec.type is FieldType.TEXT and found.get("type") == "select"
        ):
            detail = f"type is {found.get('type')}, the configuration says {spec.type.value}: fix it in Mautic"
            items.append(Item("field", alias, alias, "conflict", found.get("id"), detail))
        else:
            items.append(Item("field", alias, alias, "exists", found.get("id"), _scale_note(alias, found)))
    if with_campaigns:
        c = settings.campaigns
        wanted = [
            ("welcome", c.welcome),
            *((f"onboarding.{t}", c.onboarding.get(t)) for t in settings.lifecycle.tiers[1:]),
            ("retention", c.retention),
            ("winback", c.winback),
        ]
        for key, ref in wanted:
            item = _entity_item("campaign", key, ref, default_campaign_name(key), campaigns)
            items.append(item)
    return BootstrapPlan(items)


def _scale_note(alias: str, found: dict[str, Any]) -> str:
    if alias not in MONEY_FIELDS:
        return ""
    props = found.get("properties") if isinstance(found.get("properties"), dict) else {}
    scale = str(props.get("scale", "") or "")
    return "" if scale.isdigit() and int(scale) >= 2 else "rounds to whole units: set 2 decimals in Mautic"


def _field_detail(body: dict[str, Any]) -> str:
    props = body.get("properties", {})
    return f"{body['type']}" + (f", {props['scale']} decimals" if "scale" in props else "")


def _with(item: Item, **changes: Any) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


def _segment_for_campaign(key: str, ids: dict[tuple[str, str], int]) -> int | None:
    """The contact source a campaign shell needs: the segment its contacts come from."""
    source = {"welcome": "new_users", "retention": "free", "winback": "churned"}.get(key)
    if key.startswith("onboarding."):
        source = key.split(".", 1)[1]
    return ids.get(("segment", source or "")) or next((v for (k, _), v in ids.items() if k == "segment"), None)


def bootstrap(rt: Runtime, *, apply: bool, with_campaigns: bool) -> BootstrapPlan:
    return asyncio.run(_bootstrap(rt, apply=apply, with_campaigns=with_campaigns))


async def _bootstrap(rt: Runtime, *, apply: bool, with_campaigns: bool) -> BootstrapPlan:
    async with rt.client() as client:
        segments, campaigns, fields = await asyncio.gather(
            client.list_segments(), client.list_campaigns(), client.list_fields()
        )
        plan = plan_bootstrap(rt.settings, segments, campaigns, fields, with_campaigns=with_campaigns)
        if not apply:
            return plan
        done: list[Item] = []
        ids = {(i.kind, i.key): i.mautic_id for i in plan.items if i.mautic_id is not None}
        for item in plan.items:  # segments first: a campaign shell needs one as its source
            if item.action != "create" or item.kind == "campaign":
                done.append(item)
                continue
            created = await (
                client.create_segment(item.body) if item.kind == "segment" else client.create_field(item.body)
            )
            ids[(item.kind, item.key)] = created
            done.append(_with(item, action="created", mautic_id=created))
        for n, item in enumerate(done):
            if item.kind == "campaign" and item.action == "create":
                source = _segment_for_campaign(item.key, ids)
                body = {
                    "name": item.name,
                    "isPublished": False,
                    "description": "Created by mautic-ctl bootstrap.",
                    "lists": [{"id": source}],
                    "events": [SHELL_EVENT],
                }
                created = await client.create_campaign(body)
                done[n] = _with(
                    item, action="created", mautic_id=created, detail="unpublished shell: fill and publish it"
                )
        return BootstrapPlan(done, applied=True)


def config_snippet(plan: BootstrapPlan) -> str:
    """The TOML to paste into the config file: every segment (and campaign) id, created or found."""
    segments = [i for i in plan.items if i.kind == "segment" and i.mautic_id is not None]
    campaigns = [i for i in plan.items if i.kind == "campaign" and i.mautic_id is not None]
    lines = ["[segments]", *(f"{i.key} = {i.mautic_id}  # {i.name}" for i in segments)]
    top = [i for i in campaigns if "." not in i.key]
    onboard = [i for i in campaigns if i.key.startswith("onboarding.")]
    if top:
        lines += ["", "[campaigns]", *(f"{i.key} = {i.mautic_id}  # {i.name}" for i in top)]
    if onboard:
        lines += [
            "",
            "[campaigns.onboarding]",
            *(f"{i.key.split('.', 1)[1]} = {i.mautic_id}  # {i.name}" for i in onboard),
        ]
    return "\n".join(lines) + "\n"
