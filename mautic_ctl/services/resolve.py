"""Segment and campaign references (an id, or a name / alias) resolved to Mautic ids.

Names are looked up through the API once, then cached in SQLite for ``queue.cache_ttl`` seconds, so
a cron drain costs no lookup calls at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from mautic_ctl.errors import ConfigError
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.settings import Ref, Settings
from mautic_ctl.store import mirror

KINDS = ("segment", "campaign")


@dataclass(frozen=True, slots=True)
class Resolved:
    ids: Mapping[tuple[str, str], int]  # (kind, logical key) -> Mautic id

    def __call__(self, kind: str, key: str) -> int:
        try:
            return self.ids[(kind, key)]
        except KeyError:
            raise ConfigError(f"no {kind} is configured for {key!r}.") from None


def configured_refs(settings: Settings) -> dict[str, dict[str, Ref]]:
    return {"segment": settings.segment_refs(), "campaign": settings.campaign_refs()}


def as_id(ref: Ref) -> int | None:
    if isinstance(ref, int):
        return ref
    return int(ref) if ref.strip().isdigit() else None


def match_name(entities: list[dict], name: str) -> int | None:
    """An entity whose name or alias equals ``name`` (case-insensitively); None if none does."""
    wanted = name.strip().casefold()
    for entity in entities:
        for key in ("alias", "name"):
            value = entity.get(key)
            if isinstance(value, str) and value.casefold() == wanted:
                return int(entity["id"])
    return None


async def resolve_all(client: MauticClient, conn: sqlite3.Connection, settings: Settings, now: float) -> Resolved:
    """Every configured reference to an id; ConfigError names the first one Mautic does not have."""
    ids: dict[tuple[str, str], int] = {}
    for kind, refs in configured_refs(settings).items():
        names: dict[str, str] = {}
        for key, ref in refs.items():
            direct = as_id(ref)
            if direct is not None:
                ids[(kind, key)] = direct
                continue
            cached = mirror.cached_id(conn, kind, str(ref), max_age=settings.queue.cache_ttl, now=now)
            if cached is not None:
                ids[(kind, key)] = cached
            else:
                names[key] = str(ref)
        if not names:
            continue
        entities = await (client.list_segments() if kind == "segment" else client.list_campaigns())
        found: dict[str, int] = {}
        for key, name in names.items():
            mautic_id = match_name(entities, name)
            if mautic_id is None:
                raise ConfigError(
                    f"{kind} {name!r} (configured for {key}) does not exist in Mautic; "
                    "fix the config or run `mautic-ctl verify-config`."
                )
            ids[(kind, key)] = found[name] = mautic_id
        mirror.cache_ids(conn, kind, found, now)
    return Resolved(ids)
