"""verify-config: does every configured segment, campaign and field exist (and is it published) in Mautic?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mautic_ctl.errors import MauticError
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Check:
    kind: str  # segment | campaign | field
    key: str  # the config key (e.g. "pro", "onboarding:pro", "lifetime_value")
    ref: str  # what the config says
    mautic_id: int | None
    ok: bool
    detail: str
    warning: bool = False  # not a failure unless --strict (a campaign not configured, money losing its cents)


def verify_config(rt: Runtime) -> list[Check]:
    return asyncio.run(_verify(rt))


async def _verify(rt: Runtime) -> list[Check]:
    async with rt.client() as client:
        return await check_all(rt, client)


async def check_all(rt: Runtime, client: MauticClient) -> list[Check]:
    """Every configured item checked over an open client (also `doctor`'s verify-config summary)."""
    from mautic_ctl.services.resolve import as_id, configured_refs, match_name

    checks: list[Check] = []
    lists = {"segment": await client.list_segments(), "campaign": await client.list_campaigns()}
    for kind, refs in configured_refs(rt.settings).items():
        by_id = {int(e["id"]): e for e in lists[kind]}
        for key, ref in sorted(refs.items()):
            mautic_id = as_id(ref)
            if mautic_id is None:
                mautic_id = match_name(lists[kind], str(ref))
            entity = by_id.get(mautic_id) if mautic_id is not None else None
            if entity is None and mautic_id is not None:
                try:
                    getter = client.get_segment if kind == "segment" else client.get_campaign
                    entity = await getter(mautic_id)
                except MauticError:
                    entity = None
            if entity is None:
                checks.append(Check(kind, key, str(ref), mautic_id, False, "missing in Mautic"))
            elif not entity.get("isPublished", True):
                checks.append(Check(kind, key, str(ref), mautic_id, False, "exists but is unpublished"))
            else:
                checks.append(Check(kind, key, str(ref), mautic_id, True, str(entity.get("name", ""))))
    fields = {f.get("alias"): f for f in await client.list_fields()}
    wanted = {"email": "email", "firstname": "text", "lastname": "text"}
    wanted |= {alias: spec.type.value for alias, spec in rt.settings.field_specs().items()}
    wanted |= {exp.field: "text" for exp in rt.settings.experiments}  # where each arm is written
    for alias, ftype in wanted.items():
        found = fields.get(alias)
        if found is None:
            checks.append(Check("field", alias, ftype, None, False, "missing (Mautic would ignore writes)"))
        elif not found.get("isPublished", True):
            checks.append(Check("field", alias, ftype, found.get("id"), False, "unpublished (writes ignored)"))
        elif found.get("type") != ftype and not (ftype == "text" and found.get("type") in ("text", "select")):
            checks.append(
                Check("field", alias, ftype, found.get("id"), False, f"type is {found.get('type')}, expected {ftype}")
            )
        elif alias == rt.settings.policy().fields.lifetime_value and ftype == "number" and _scale(found) < 2:
            checks.append(Check("field", alias, ftype, found.get("id"), False, _money_detail(found), warning=True))
        else:
            checks.append(Check("field", alias, ftype, found.get("id"), True, str(found.get("label", ""))))
    return [*checks, *completeness_checks(rt)]


def completeness_checks(rt: Runtime) -> list[Check]:
    """What the configuration leaves out: a tier without a segment (an error), a transition without a
    campaign that was not switched off with "none" (a warning)."""
    from mautic_ctl.completeness import missing_tier_segments, segment_key_name, unconfigured_campaigns

    policy = rt.settings.policy()
    out = [
        Check("segment", f"tier:{tier}", "", None, False, f"not configured: set {segment_key_name(tier)}")
        for tier in missing_tier_segments(policy.tiers, policy.segments)
    ]
    out += [
        Check("campaign", key, "", None, False, 'not configured: its transition enters no campaign (or set "none")',
              warning=True)
        for key in unconfigured_campaigns(policy.tiers, policy.campaigns, rt.settings.campaigns_off())
    ]  # fmt: skip
    return out


def _scale(field: dict[str, object]) -> int:
    """Decimal places a Mautic number field keeps (its ``properties.scale``; none: whole numbers)."""
    props = field.get("properties")
    raw = props.get("scale") if isinstance(props, dict) else None
    try:
        return int(str(raw)) if raw not in (None, "") else 0
    except ValueError:
        return 0


def _money_detail(field: dict[str, object]) -> str:
    kept = _scale(field)
    return (
        f"{field.get('alias')} keeps {kept} decimal place{'s' if kept != 1 else ''}, so payments lose their "
        f"cents (29.90 is stored as {'29' if kept == 0 else '29.9'}); set its decimal places to 2 in Mautic "
        f"(Settings > Custom Fields > {field.get('label') or field.get('alias')} > Properties), or PATCH "
        f'/api/fields/contact/{field.get("id")}/edit with {{"properties": {{"scale": 2}}}}'
    )
