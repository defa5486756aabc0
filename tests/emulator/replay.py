"""Replays a recording of a real Mautic 5.1.0 (tests/emulator/recordings/) against the emulator and compares
the answers.

The rules follow the recordings' README: `{{run}}` and friends are substituted (an exact `"{{name}}"`
value keeps the captured value's type, placeholders may sit in object keys), captures are dotted paths
into our own answers, and `cli_before` console commands run through the emulator's console hooks.

Comparison: status code; Mautic-Version presence, Content-Type, Location presence and form,
X-RateLimit-* presence; the JSON structure recursively (keys and value types) and every scalar value,
except ids, field order and tokens (`UNSTABLE`, type only) and timestamps (format only).
"List" answers of endpoints that show the whole shared instance (unfiltered lists) are compared by
the shape of their items, not their count or order.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mautic_ctl.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_USERNAME

RECORDINGS = Path(__file__).resolve().parent / "recordings"
"""Copies of shared/mautic-recordings, kept in the repository so the contract test runs on any checkout."""
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
SQL_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
LOCATION = re.compile(r"^/api/[a-z/]+/\d+$")
LIST_PATHS = {"/api/segments", "/api/campaigns", "/api/contacts", "/api/fields/contact", "/api/contacts/list/segments"}
KNOWN_EXPRS = {"eq", "neq", "lt", "lte", "gt", "gte", "like", "notLike", "in", "notIn", "isNull", "isNotNull"}
UNSTABLE = frozenset(
    {
        "id",
        "order",
        "createdBy",
        "modifiedBy",
        "lead_id",
        "campaign_id",
        "company_id",
        "listMembership",
        "sourceId",
        "targetId",
        "access_token",
    }
)
"""Keys whose values depend on the instance (ids, field order, tokens): compared by type only."""


@dataclass
class Replay:
    """State of one recording's replay: variables, captures and the mismatches found."""

    name: str
    variables: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def initial_variables(recording: dict[str, Any], expired_token: str) -> dict[str, Any]:
    basic = base64.b64encode(f"{DEFAULT_USERNAME}:{DEFAULT_PASSWORD}".encode()).decode()
    client = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    return {
        "run": recording.get("recorded_values", {}).get("run", "emurun"),
        "auth": basic,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "client_basic": client,
        "expired_token": expired_token,
    }


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {str(substitute(k, variables)): substitute(v, variables) for k, v in value.items()}
    return value


def capture(body: Any, dotted: str) -> Any:
    node = body
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def build_request(exchange: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    req = exchange["request"]
    query = req.get("query")
    if isinstance(query, dict):
        params: Any = [(k, str(substitute(v, variables))) for k, v in query.items()]
    elif isinstance(query, list):
        params = [(substitute(k, variables), str(substitute(v, variables))) for k, v in query]
    else:
        params = None
    kwargs: dict[str, Any] = {
        "method": req["method"],
        "url": substitute(req["path"], variables),
        "params": params,
        "headers": substitute(req.get("headers", {}), variables),
    }
    if "json" in req:
        kwargs["content"] = json.dumps(substitute(req["json"], variables)).encode()
    elif "body" in req:
        kwargs["content"] = str(substitute(req["body"], variables)).encode()
    return kwargs


def instance_dependent(exchange: dict[str, Any]) -> bool:
    """Unfiltered list calls show other runs' objects on the shared instance: compare item shapes only."""
    req = exchange["request"]
    if req["method"] != "GET" or req["path"] not in LIST_PATHS:
        return False
    query = req.get("query") or {}
    pairs = query.items() if isinstance(query, dict) else query
    keys = {k for k, _ in pairs}
    exprs = {v for k, v in pairs if k.endswith("[expr]")}
    filtered = "search" in keys or (bool(exprs) and exprs <= KNOWN_EXPRS)
    return not filtered


def compare_headers(expected: dict[str, str], response: httpx.Response) -> list[str]:
    problems = []
    exp = {k.lower(): v for k, v in expected.items()}
    has_version = "mautic-version" in response.headers
    if ("mautic-version" in exp) != has_version:
        problems.append(f"Mautic-Version present={has_version}, recorded={'mautic-version' in exp}")
    if "content-type" in exp and not response.headers.get("content-type", "").startswith(exp["content-type"]):
        problems.append(f"Content-Type {response.headers.get('content-type')!r} != {exp['content-type']!r}")
    location = response.headers.get("location")
    if ("location" in exp) != (location is not None):
        problems.append(f"Location present={location is not None}, recorded={'location' in exp}")
    elif location is not None and not LOCATION.match(location):
        problems.append(f"Location {location!r} is not a relative API path")
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        if (name in exp) != (name in response.headers):
            problems.append(f"{name} presence differs")
    return problems


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "list" if isinstance(value, list) else "dict"


def _id_keyed(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k.isdigit() for k in value)


@dataclass
class Shape:
    """Recursive comparison of a recorded JSON value with ours."""

    loose: bool
    batch: bool = False
    """A batch answer: its `contacts`/`errors` maps are keyed by request index, compared exactly."""
    problems: list[str] = field(default_factory=list)

    def compare(self, rec: Any, ours: Any, path: str, key: str = "") -> None:
        if len(self.problems) > 20:
            return
        if rec is None and self.loose:
            return
        if isinstance(rec, dict) and isinstance(ours, dict):
            self._dicts(rec, ours, path, key)
        elif isinstance(rec, list) and isinstance(ours, list):
            self._lists(rec, ours, path, key)
        elif _kind(rec) != _kind(ours):
            if not (self.loose and ours is None):
                self.problems.append(
                    f"{path}: type {_kind(ours)} ({ours!r:.60}) != recorded {_kind(rec)} ({rec!r:.60})"
                )
        elif isinstance(rec, str):
            self._strings(rec, ours, path, key)
        elif key not in UNSTABLE and not self.loose and rec != ours:
            self.problems.append(f"{path}: {ours!r} != recorded {rec!r}")

    def _strings(self, rec: str, ours: str, path: str, key: str) -> None:
        if self.loose:
            return
        for pattern in (ISO_TS, SQL_TS):
            if pattern.match(rec):
                if not pattern.match(ours):
                    self.problems.append(f"{path}: {ours!r} is not a timestamp like {rec!r}")
                return
        if key not in UNSTABLE and not self.loose and rec != ours:
            self.problems.append(f"{path}: {ours!r} != recorded {rec!r}")

    def _dicts(self, rec: dict[str, Any], ours: dict[str, Any], path: str, key: str) -> None:
        index_keyed = self.batch and key in ("contacts", "errors")
        if _id_keyed(rec) and not index_keyed and key != "all":
            self._collection(list(rec.values()), list(ours.values()), path, key, keyed=True)
            return
        if set(rec) != set(ours):
            missing, extra = sorted(set(rec) - set(ours)), sorted(set(ours) - set(rec))
            self.problems.append(f"{path}: keys missing {missing[:8]} extra {extra[:8]}")
        for k in rec.keys() & ours.keys():
            self.compare(rec[k], ours[k], f"{path}.{k}", k)

    def _like_any(self, recs: list[Any], ours: Any, path: str, key: str) -> None:
        """Loose mode: our item must have the shape of at least one recorded item."""
        best: list[str] | None = None
        for rec in recs[:40] or [ours]:
            probe = Shape(loose=True)
            probe.compare(rec, ours, path, key)
            if not probe.problems:
                return
            if best is None or len(probe.problems) < len(best):
                best = probe.problems
        self.problems += best or []

    def _lists(self, rec: list[Any], ours: list[Any], path: str, key: str) -> None:
        if not self.loose and all(not isinstance(v, dict | list) for v in rec):
            if rec != ours and key not in UNSTABLE:
                self.problems.append(f"{path}: {ours!r:.80} != recorded {rec!r:.80}")
            return
        self._collection(rec, ours, path, key, keyed=False)

    def _collection(self, rec: list[Any], ours: list[Any], path: str, key: str, keyed: bool) -> None:
        if self.loose:
            for i, item in enumerate(ours[:8]):
                self._like_any(rec, item, f"{path}[{i}]", key)
            return
        if len(rec) != len(ours):
            self.problems.append(f"{path}: {len(ours)} items != recorded {len(rec)}")
            return
        for i, (r, o) in enumerate(zip(rec, ours, strict=True)):
            self.compare(r, o, f"{path}[{i}]", "" if keyed or key in ("listMembership",) else key)


def prepare_instance(recording: dict[str, Any], state: Any) -> None:
    """Create the custom fields other runs had left on the shared instance before this scenario.

    Their label, group and properties are read from the scenario's own new-contact answers (O1 shape).
    """
    from mautic_ctl.emulator.state import Field

    entries: dict[str, dict[str, Any]] = {}
    for exchange in recording["exchanges"]:
        body = exchange["response"].get("json")
        contact = body.get("contact") if isinstance(body, dict) else None
        for group in (contact or {}).get("fields", {}).values():
            if isinstance(group, dict):
                for alias, entry in group.items():
                    if isinstance(entry, dict) and isinstance(entry.get("id"), int):
                        entries.setdefault(alias, entry)
    for spec in recording.get("instance_custom_fields_before_scenario", []):
        alias, _, kind = spec.partition(" ")
        if alias in state.field_by_alias:
            continue
        entry = entries.get(alias, {})
        props = entry.get("properties") or {}
        state.add_field(
            Field(
                id=state.next_field_id(),
                label=entry.get("label", alias),
                alias=alias,
                type=kind.strip("()"),
                group=entry.get("group", "core"),
                order=12,
                properties=props if isinstance(props, dict) else {},
            )
        )


async def run_recording(
    client: httpx.AsyncClient, recording: dict[str, Any], variables: dict[str, Any], console: Any
) -> list[str]:
    """Replay every exchange; return one line per mismatching exchange."""
    failures: list[str] = []
    for n, exchange in enumerate(recording["exchanges"]):
        for command in exchange.get("cli_before", []):
            console(substitute(command, variables))
        response = await client.request(**build_request(exchange, variables))
        expected = exchange["response"]
        problems: list[str] = []
        if response.status_code != expected["status"]:
            problems.append(f"status {response.status_code} != recorded {expected['status']}")
        problems += compare_headers(expected.get("headers", {}), response)
        body: Any = None
        if "json" in expected:
            try:
                body = response.json()
            except ValueError:
                problems.append(f"body is not JSON: {response.text[:120]!r}")
            else:
                batch = isinstance(expected["json"], dict) and "statusCodes" in expected["json"]
                shape = Shape(loose=instance_dependent(exchange), batch=batch)
                rec = substitute(expected["json"], {"run": variables["run"]})
                shape.compare(rec, body, "$")
                problems += shape.problems
        for name, dotted in (exchange.get("capture") or {}).items():
            try:
                variables[name] = capture(body, dotted)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"capture {name} <- {dotted} failed")
        if problems:
            failures.append(f"#{n} {exchange['name']}:\n      " + "\n      ".join(problems))
    return failures
