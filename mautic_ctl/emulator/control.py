"""`/_emulator/*`: drive a running emulator over HTTP (a test that runs it as a subprocess has no Python
handle). Never faulted, never counted, never authenticated.

    GET  /_emulator/state                  summary: entity counts, faults, counters
    GET  /_emulator/faults                 current fault settings
    POST /_emulator/faults                 {"fail_rate": 0.2, ...} changes; {"down_for": 5} / {"down": true}
                                           / {"up": true} open or close a down window
    POST /_emulator/reset                  fresh instance ({"seed": false} for an empty one)
    POST /_emulator/console                {"command": "mautic:campaigns:trigger -i 3"}
    POST /_emulator/tokens                 {"lifetime": 1} -> {"access_token": ...}
    GET  /_emulator/contacts?email=...     one contact's values, segments and campaign rotations
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from .app import Emulator


async def handle(emulator: Emulator, request: Request) -> Response:
    action = request.url.path.removeprefix("/_emulator").strip("/")
    try:
        body = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
    except ValueError:
        return JSONResponse({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "body must be a JSON object"}, 400)
    try:
        if action == "state":
            return JSONResponse(summary(emulator))
        if action == "faults":
            if request.method == "POST":
                set_faults(emulator, body)
            return JSONResponse(emulator.faults.as_dict())
        if action == "reset" and request.method == "POST":
            seed = body.get("seed")
            emulator.reset(seed=None if seed is None else bool(seed))
            return JSONResponse(summary(emulator))
        if action == "console" and request.method == "POST":
            return JSONResponse({"affected": emulator.console(str(body.get("command", "")))})
        if action == "tokens" and request.method == "POST":
            lifetime = body.get("lifetime")
            return JSONResponse({"access_token": emulator.issue_token(None if lifetime is None else float(lifetime))})
        if action == "contacts":
            return _contact(emulator, request.query_params.get("email", ""))
    except (ValueError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse({"error": f"unknown control action: {action}"}, 404)


def set_faults(emulator: Emulator, changes: dict[str, Any]) -> None:
    """Apply control-API changes; `down_for`, `up` and `down_mode` drive the down window."""
    changes = dict(changes)
    injector = emulator.injector
    mode = changes.pop("down_mode", None)
    if changes.pop("up", False):
        injector.up()
    if "down_for" in changes:
        seconds = changes.pop("down_for")
        injector.down_for(None if seconds is None else float(seconds), mode or "503")
        mode = None
    emulator.faults = emulator.faults.updated(changes if mode is None else {**changes, "down_mode": mode})


def summary(emulator: Emulator) -> dict[str, Any]:
    state = emulator.state
    with state.lock:
        counts = {
            "contacts": len(state.contacts),
            "segments": len(state.segments),
            "campaigns": len(state.campaigns),
            "fields": len(state.fields),
            "segment_memberships": sum(1 for r in state.segment_members.values() if not r.manually_removed),
            "campaign_memberships": sum(1 for r in state.campaign_members.values() if not r.manually_removed),
            "campaign_entries": sum(len(v) for v in state.campaign_entries.values()),
        }
    return {
        "counts": counts,
        "faults": emulator.faults.as_dict(),
        "fault_counts": dict(emulator.injector.counts),
        "counters": emulator.counters.as_dict(),
        "charged_seconds": emulator.injector.charged,
    }


def _contact(emulator: Emulator, email: str) -> Response:
    state = emulator.state
    with state.lock:
        contact = state.contact_by_email(email)
        if contact is None:
            return JSONResponse({"error": "no such contact"}, 404)
        return JSONResponse(
            {
                "id": contact.id,
                "values": contact.values,
                "points": contact.points,
                "tags": [state.tag_names[t] for t in contact.tag_ids],
                "segments": sorted(state.segment_ids_of(contact.id)),
                "campaigns": {
                    str(c.id): {"rotation": row.rotation, "entries": len(state.entries(c.id, contact.id))}
                    for c, row in state.active_campaigns(contact.id)
                },
            }
        )
