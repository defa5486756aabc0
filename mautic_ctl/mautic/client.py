"""Async client for the Mautic 5 REST API: short retries, batch and paging helpers.

It knows nothing of SQL or rules. Every httpx exception and every Mautic error answer is turned into
the tree in ``errors.py`` here (``raise … from exc``), so nothing above this module sees httpx.
Messages name the method and the path *template*, never a query string (it can hold an email) or a
credential. "Fact sheet §N" refers to shared/mautic-api.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from mautic_ctl import __version__
from mautic_ctl.errors import (
    AuthError,
    ConfigError,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from mautic_ctl.mautic import responses
from mautic_ctl.mautic.auth import OAuth2ClientCredentials, credentials_fix, make_auth
from mautic_ctl.mautic.responses import BatchItemResult
from mautic_ctl.mautic.values import FieldFormat, as_bool, outgoing

__all__ = [
    "BatchItemResult",
    "FieldFormat",
    "MauticClient",
    "OAuth2ClientCredentials",
    "Probe",
    "RequestRecord",
    "UpsertResult",
    "make_auth",
]

MAX_BATCH = 200  # api_batch_max_limit; a bigger batch is answered with HTTP 500 (fact sheet §5.5)
EMAIL_CHUNK = 50  # emails per `where … in` lookup: keeps the URL short (50 x 64 chars)
MEMBER_PAGE = 1000  # campaign membership rows per page: small rows of ids and dates
PAGE_SIZE = 200  # never limit=0: it removes the limit entirely (fact sheet §1, §10)
_RETRY_MULTIPLIER = 0.25  # seconds: attempt n waits uniform(0, min(retry_max_wait, 0.25 * 2**(n-1)))


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP exchange, for the audit table: the URL path only (no query), no headers, no bodies."""

    method: str
    path: str
    status: int | None  # None when no response arrived
    duration_s: float
    error: str | None  # the transport failure's class name ("ReadTimeout") when no response arrived


@dataclass(frozen=True)
class Probe:
    """One timed authenticated call, for `doctor`: Mautic's version and rate-limit headers."""

    seconds: float
    version: str | None  # the Mautic-Version header (absent on some answers, fact sheet §Version header)
    rate_limit: int | None  # X-RateLimit-Limit, when Mautic's rate limiter is on
    rate_remaining: int | None


@dataclass(frozen=True)
class UpsertResult:
    """The contact POST /api/contacts/new matched or created (201 created, 200 existing)."""

    contact_id: int
    created: bool


def _newer(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def key(c: Mapping[str, Any]) -> tuple[str, int]:
        return str(c.get("dateAdded") or ""), responses.as_int(c.get("id")) or 0

    return key(a) > key(b)


class _RecordingTransport(httpx.AsyncBaseTransport):
    """Reports every exchange (token fetches and retries included) to ``on_request``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, on_request: Callable[[RequestRecord], None] | None) -> None:
        self._inner, self._on_request = inner, on_request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self._record(request, None, start, type(exc).__name__)
            raise
        try:  # read the body here so the duration covers it and a dropped body is recorded too
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        except Exception as exc:
            await response.aclose()
            self._record(request, None, start, type(exc).__name__)
            raise
        self._record(request, response.status_code, start, None)
        stream = httpx.ByteStream(raw)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    def _record(self, request: httpx.Request, status: int | None, start: float, error: str | None) -> None:
        if self._on_request is not None:  # the callback must not raise
            duration = time.perf_counter() - start
            self._on_request(RequestRecord(request.method, request.url.path, status, duration, error))

    async def aclose(self) -> None:
        await self._inner.aclose()


class MauticClient:
    """Async Mautic 5 REST client; use ``async with MauticClient(url, auth=…) as client:``.

    Idempotent calls are retried in-process on ``TransientError`` (not ``RateLimited``) up to
    ``retry_attempts`` times; ``add_to_campaign`` is retried only when nothing was sent.
    ``verify`` and ``max_connections`` shape the default transport; a ``transport`` given (e.g.
    ``httpx.ASGITransport``) is used as is. ``on_request`` must not raise.

    Contact values go out in the form Mautic will keep (``values.outgoing``): text trimmed, and numbers
    rounded half-up to the field's scale when ``field_formats`` (or ``load_field_formats()``) says what
    the fields are, so Mautic never truncates or rounds toward +infinity on its own (D1, D2, D4).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        timeout: float = 10.0,
        verify: bool = True,
        max_connections: int = 10,
        retry_attempts: int = 3,
        retry_max_wait: float = 2.0,
        batch_limit: int = MAX_BATCH,
        transport: httpx.AsyncBaseTransport | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        field_formats: Mapping[str, FieldFormat] | None = None,
        read_only: bool = False,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("The Mautic URL must start with http:// or https://.")
        if not 1 <= batch_limit <= MAX_BATCH:
            raise ConfigError(f"batch_limit must be between 1 and {MAX_BATCH} (Mautic's batch maximum).")
        if retry_attempts < 1:
            raise ConfigError("retry_attempts must be at least 1 (1 disables in-process retries).")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # Plain http:// never does TLS: skip building a verifying SSL context (loading the CA bundle
        # costs 40-170 ms of CPU per process, which a burst of short-lived CLI processes pays 100 times).
        verify = verify if base_url.startswith("https://") else False
        inner = transport or httpx.AsyncHTTPTransport(verify=verify, limits=limits)
        self._batch_limit = batch_limit
        self._read_only = read_only  # a dry run: any call but GET is refused before it is sent
        self._formats: dict[str, FieldFormat] = dict(field_formats or {})
        self._retry_attempts = retry_attempts
        self._retry_max_wait = retry_max_wait
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout=timeout,
            transport=_RecordingTransport(inner, on_request),
            headers={"Accept": "application/json", "User-Agent": f"mautic-ctl/{__version__}"},
            follow_redirects=False,  # a redirected POST loses its body; report it instead
        )

    async def __aenter__(self) -> MauticClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- contacts -------------------------------------------------------------------------------

    async def find_contact_by_email(self, email: str) -> dict[str, Any] | None:
        """The newest contact whose email equals ``email`` (case-insensitively), or None."""
        return (await self.find_contacts_by_emails([email])).get(email.strip().casefold())

    async def find_contacts_by_emails(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Contacts by case-folded email (the newest when Mautic holds duplicates), a chunk per call.

        ``where … expr=in``: ``eq`` misses emails with ``'``/``&`` (values are HTML-escaped) and
        ``search=email:`` is a LIKE prefix match (fact sheet §5.1, §9.11). ``in`` splits its value on
        commas (an email holding one is looked up alone), and an unknown expression returns the whole
        table (O8), hence the email check on every result.
        """
        wanted = list(dict.fromkeys(e.strip().casefold() for e in emails if e and e.strip()))
        plain = [e for e in wanted if "," not in e]
        chunks = [plain[i : i + EMAIL_CHUNK] for i in range(0, len(plain), EMAIL_CHUNK)]
        chunks += [[e] for e in wanted if "," in e]
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks:
            params = [
                ("where[0][col]", "email"),
                ("where[0][expr]", "in"),
                ("where[0][val]", ",".join(chunk)),
                ("minimal", "1"),
                ("orderBy", "id"),  # newest first, as Mautic's own dedupe picks the newest (§5.3)
                ("orderByDir", "DESC"),
                ("limit", str(2 * len(chunk))),
            ]
            _, body = await self._call("GET", "/api/contacts", params=params)
            page = responses.entities(responses.obj(body, "GET /api/contacts").get("contacts")).values()
            for contact in page:
                email = responses.email_of(contact)
                if email in chunk:
                    best = found.get(email)
                    if best is None or _newer(contact, best):
                        found[email] = contact
        return found

    async def get_contact(self, contact_id: int) -> dict[str, Any]:
        """The ``contact`` object; ``NotFound`` on 404. Its ``id`` may differ if it was merged (§1)."""
        return await self._entity("/api/contacts/{id}", "contact", contact_id)

    async def upsert_contact(self, fields: Mapping[str, Any]) -> UpsertResult:
        """Create or update the contact matched by its unique fields (email): POST /api/contacts/new."""
        where = "POST /api/contacts/new"
        payload = responses.upsert_payload(outgoing(fields, self._formats))
        status, body = await self._call("POST", "/api/contacts/new", json=payload)
        contact = responses.obj(responses.obj(body, where).get("contact"), where)
        return UpsertResult(contact_id=responses.id_of(contact, where), created=status == 201)

    async def upsert_contacts(self, items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        """Batch upsert (POST /api/contacts/batch/new) in chunks; results follow the input order."""
        payload = [responses.upsert_payload(outgoing(item, self._formats)) for item in items]
        return await self._batch("POST", "/api/contacts/batch/new", payload)

    async def update_contact(self, contact_id: int, fields: Mapping[str, Any]) -> None:
        """Change only the given fields: PATCH, never PUT (PUT blanks every unsent field, §5.4).

        Fields are sent as given; ``overwriteWithBlank: true`` here clears the sent empty fields.
        """
        await self._call("PATCH", "/api/contacts/{id}/edit", json=outgoing(fields, self._formats), id=contact_id)

    async def update_contacts(self, items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        """Batch PATCH /api/contacts/batch/edit in chunks; results follow the input order.

        One contact never appears twice in one request: Mautic would save the second item as a new
        contact with the same email (D7), so a repeat goes out in a later request, after the first.
        An item without a usable ``id`` is never sent: Mautic would apply its payload to the next
        item's contact and shift every later one (D8); its result is a failure.
        """
        template = "/api/contacts/batch/edit"
        results: dict[int, BatchItemResult] = {}
        rounds: list[tuple[set[int], list[tuple[int, dict[str, Any]]]]] = []
        for index, item in enumerate(items):
            contact_id = responses.contact_id(item.get("id"))
            if contact_id is None:
                error = PermanentError(f"PATCH {template} item {index} has no contact id; it was not sent.")
                results[index] = BatchItemResult(index, False, 0, None, False, error)
                continue
            payload = {**outgoing(item, self._formats), "id": contact_id}
            free = next((r for r in rounds if contact_id not in r[0]), None)
            if free is None:
                free = (set(), [])
                rounds.append(free)
            free[0].add(contact_id)
            free[1].append((index, payload))
        for _, members in rounds:
            answers = await self._batch("PATCH", template, [payload for _, payload in members])
            for (index, _), answer in zip(members, answers, strict=True):
                results[index] = replace(answer, index=index)
        return [results[index] for index in range(len(items))]

    async def load_field_formats(self) -> dict[str, FieldFormat]:
        """Learn each contact field's type, scale and rounding mode (one paged list call), for ``outgoing``."""
        self._formats = {str(f["alias"]): FieldFormat.of(f) for f in await self.list_fields() if f.get("alias")}
        return dict(self._formats)

    async def contact_segments(self, contact_id: int) -> dict[int, dict[str, Any]]:
        """Segments the contact is in (unpublished ones included), keyed by segment id."""
        _, body = await self._call("GET", "/api/contacts/{id}/segments", id=contact_id)
        return responses.entities(responses.obj(body, "GET /api/contacts/{id}/segments").get("lists"))

    async def contact_campaigns(self, contact_id: int) -> dict[int, dict[str, Any]]:
        """Published campaigns the contact is active in, keyed by campaign id (§5.8)."""
        _, body = await self._call("GET", "/api/contacts/{id}/campaigns", id=contact_id)
        return responses.entities(responses.obj(body, "GET /api/contacts/{id}/campaigns").get("campaigns"))

    async def delete_contact(self, contact_id: int) -> None:
        """DELETE /api/contacts/{id}/delete; ``NotFound`` if it is already gone (§5.6).

        Beware the merge redirect (§1): a merged-away id deletes the surviving contact; callers
        pass only ids Mautic gave them for this user.
        """
        await self._call("DELETE", "/api/contacts/{id}/delete", id=contact_id)

    async def add_dnc(self, contact_id: int, channel: str, *, reason: int, comments: str) -> None:
        """Do Not Contact on ``channel`` (POST …/dnc/{channel}/add, §5.7). A repeat with the same reason
        changes nothing; Mautic never overrides the contact's own unsubscribe (reason 1)."""
        template = f"/api/contacts/{{id}}/dnc/{_channel(channel)}/add"
        await self._call("POST", template, json={"reason": reason, "comments": comments}, id=contact_id)

    async def remove_dnc(self, contact_id: int, channel: str) -> bool:
        """Remove the Do Not Contact entry on ``channel``; whether there was one (``recordFound``)."""
        template = f"/api/contacts/{{id}}/dnc/{_channel(channel)}/remove"
        _, body = await self._call("POST", template, id=contact_id)
        return bool(responses.obj(body, f"POST {template}").get("recordFound"))

    async def add_points(self, contact_id: int, delta: int) -> None:
        """Change the contact's points by ``delta`` (POST …/points/plus|minus/{n}, PointBundle, §5.8).

        NOT idempotent and there is no batch endpoint: never retried once it may have reached Mautic
        (``OutcomeUnknown``); the drain sends each at most once.
        """
        operator = "plus" if delta >= 0 else "minus"
        template = f"/api/contacts/{{id}}/points/{operator}/{{delta}}"
        await self._call("POST", template, idempotent=False, id=contact_id, delta=abs(delta))

    # ---- segments and campaigns ----------------------------------------------------------------

    async def segment_member_ids(self, alias: str) -> set[int]:
        """Ids of every contact in the segment (``search=segment:<alias>``, ids only, paged).

        One call per ``PAGE_SIZE`` members instead of one per contact: what a reconcile of thousands
        of users reads memberships with. Ordered by id so pages do not shift while paging.
        """
        found: set[int] = set()
        start = 0
        while True:
            params = [
                ("search", f"segment:{alias}"), ("select[]", "id"), ("minimal", "1"), ("orderBy", "id"),
                ("orderByDir", "ASC"), ("start", str(start)), ("limit", str(PAGE_SIZE)),
            ]  # fmt: skip
            _, body = await self._call("GET", "/api/contacts", params=params)
            page = responses.entities(responses.obj(body, "GET /api/contacts").get("contacts"))
            before = len(found)
            found.update(page)
            start += len(page)
            if len(page) < PAGE_SIZE or len(found) == before:
                return found

    async def campaign_member_ids(self, campaign_id: int) -> set[int]:
        """Ids of the campaign's active members (manually removed rows are excluded), paged (§7)."""
        found: set[int] = set()
        start, where = 0, "GET /api/campaigns/{id}/contacts"
        while True:
            params = {"start": start, "limit": MEMBER_PAGE}
            _, body = await self._call("GET", "/api/campaigns/{id}/contacts", params=params, id=campaign_id)
            rows = responses.obj(body, where).get("contacts")
            rows = list(rows.values()) if isinstance(rows, dict) else rows if isinstance(rows, list) else []
            before = len(found)
            found.update(cid for r in rows if isinstance(r, dict) and (cid := responses.as_int(r.get("lead_id"))))
            start += len(rows)
            total = responses.as_int(body.get("total")) if isinstance(body, dict) else None
            if not rows or len(found) == before or (total is not None and start >= total):
                return found

    async def add_to_segment(self, segment_id: int, contact_id: int) -> None:
        """Add one contact to a segment (a no-op for a member)."""
        await self._member("/api/segments/{id}/contact/{cid}/add", segment_id, contact_id, responses.UNPUBLISHED_HINT)

    async def remove_from_segment(self, segment_id: int, contact_id: int) -> None:
        """Remove one contact from a segment (a no-op for a non-member)."""
        template = "/api/segments/{id}/contact/{cid}/remove"
        await self._member(template, segment_id, contact_id, responses.UNPUBLISHED_HINT)

    async def add_to_segment_batch(self, segment_id: int, contact_ids: Sequence[int]) -> dict[int, bool]:
        """Add many contacts to a segment; returns per-id success (False: contact missing or denied).

        The body is ``{"ids": [...]}`` as a JSON array: ``contactIds`` is a 400 and a comma string is
        a silent no-op (§6). Mautic enforces no size limit, so we chunk at ``batch_limit`` ourselves.
        """
        template, result = "/api/segments/{id}/contacts/add", {}
        ids = list(dict.fromkeys(int(cid) for cid in contact_ids))
        for start in range(0, len(ids), self._batch_limit):
            chunk = ids[start : start + self._batch_limit]
            _, body = await self._call(
                "POST", template, json={"ids": chunk}, forbidden_hint=responses.UNPUBLISHED_HINT, id=segment_id
            )
            details = responses.obj(body, f"POST {template}").get("details")
            details = details if isinstance(details, dict) else {}  # [] when nothing was processed
            for cid in chunk:
                entry = details.get(str(cid))
                result[cid] = bool(isinstance(entry, dict) and as_bool(entry.get("success")))
        return result

    async def add_to_campaign(self, campaign_id: int, contact_id: int) -> None:
        """Add one contact to a campaign. NOT idempotent: it restarts a restartable campaign (§7).

        Never retried once the request may have reached Mautic; such failures raise
        ``OutcomeUnknown`` (``ambiguous=True``) so the caller checks membership before repeating.
        """
        template = "/api/campaigns/{id}/contact/{cid}/add"
        await self._member(template, campaign_id, contact_id, None, idempotent=False)

    async def remove_from_campaign(self, campaign_id: int, contact_id: int) -> None:
        """Remove one contact from a campaign (a no-op for a non-member)."""
        await self._member("/api/campaigns/{id}/contact/{cid}/remove", campaign_id, contact_id, None)

    # ---- configuration checks ------------------------------------------------------------------

    async def get_segment(self, segment_id: int) -> dict[str, Any]:
        """The segment (``list``) object; ``NotFound`` on 404. Check ``isPublished`` yourself."""
        return await self._entity("/api/segments/{id}", "list", segment_id)

    async def get_campaign(self, campaign_id: int) -> dict[str, Any]:
        """The campaign object; ``NotFound`` on 404."""
        return await self._entity("/api/campaigns/{id}", "campaign", campaign_id)

    async def get_field(self, field_id: int) -> dict[str, Any]:
        """The contact field object; ``NotFound`` on 404."""
        return await self._entity("/api/fields/contact/{id}", "field", field_id)

    async def get_email(self, email_id: int) -> dict[str, Any]:
        """The email object (``sentCount``, ``readCount`` …); ``NotFound`` on 404."""
        return await self._entity("/api/emails/{id}", "email", email_id)

    async def count_stats(self, table: str, where: Mapping[str, Any]) -> int:
        """How many rows of a stats table (``GET /api/stats/{table}``) match ``where`` (column = value).

        Only the total is read (``limit=1``): e.g. ``page_hits`` rows with an ``email_id`` are the clicks
        on that email's tracked links.
        """
        params: dict[str, Any] = {"start": 0, "limit": 1}
        for index, (column, value) in enumerate(where.items()):
            params |= {f"where[{index}][col]": column, f"where[{index}][expr]": "eq", f"where[{index}][val]": value}
        _, body = await self._call("GET", f"/api/stats/{table}", params=params)
        total = responses.as_int(responses.obj(body, f"GET /api/stats/{table}").get("total"))
        return total or 0

    async def list_segments(self) -> list[dict[str, Any]]:
        """All segments, published or not (minimal form: no filters)."""
        return await self._list("/api/segments", "lists", minimal=True)

    async def list_campaigns(self) -> list[dict[str, Any]]:
        """All campaigns (minimal form: no events)."""
        return await self._list("/api/campaigns", "campaigns", minimal=True)

    async def list_fields(self) -> list[dict[str, Any]]:
        """All contact fields; paged because the default page (30) is smaller than the stock set."""
        return await self._list("/api/fields/contact", "fields", minimal=False)

    # ---- set-up (bootstrap, doctor) -------------------------------------------------------------

    async def create_segment(self, body: Mapping[str, Any]) -> int:
        """POST /api/segments/new; the new segment's id."""
        return await self._create("/api/segments/new", "list", body)

    async def create_field(self, body: Mapping[str, Any]) -> int:
        """POST /api/fields/contact/new; the new contact field's id."""
        return await self._create("/api/fields/contact/new", "field", body)

    async def create_campaign(self, body: Mapping[str, Any]) -> int:
        """POST /api/campaigns/new (needs one event and one source in 5.x, fact sheet); the new id."""
        return await self._create("/api/campaigns/new", "campaign", body)

    async def probe(self) -> Probe:
        """One cheap authenticated call (a one-item segment page), timed, with the headers `doctor` reports."""
        start = time.perf_counter()
        try:
            response = await self._http.request("GET", "/api/segments", params={"limit": 1, "minimal": 1})
        except httpx.HTTPError as exc:
            raise responses.transport_error(exc, "GET /api/segments", True) from exc
        self._check(response, "GET /api/segments", True, None, False)
        headers = response.headers
        return Probe(
            time.perf_counter() - start,
            headers.get("Mautic-Version"),
            responses.as_int(headers.get("X-RateLimit-Limit")),
            responses.as_int(headers.get("X-RateLimit-Remaining")),
        )

    async def _create(self, path: str, key: str, body: Mapping[str, Any]) -> int:
        _, answer = await self._call("POST", path, json=dict(body), idempotent=False)
        where = f"POST {path}"
        return responses.id_of(responses.obj(responses.obj(answer, where).get(key), where), where)

    # ---- plumbing -------------------------------------------------------------------------------

    async def _entity(self, template: str, key: str, entity_id: int) -> dict[str, Any]:
        _, body = await self._call("GET", template, id=entity_id)
        return responses.obj(responses.obj(body, f"GET {template}").get(key), f"GET {template}")

    async def _member(
        self, template: str, parent_id: int, contact_id: int, hint: str | None, *, idempotent: bool = True
    ) -> None:
        _, body = await self._call(
            "POST", template, idempotent=idempotent, forbidden_hint=hint, id=parent_id, cid=contact_id
        )
        if not as_bool(responses.obj(body, f"POST {template}").get("success")):
            raise PermanentError(f"POST {template} did not report success.", status=200)

    async def _list(self, path: str, key: str, *, minimal: bool) -> list[dict[str, Any]]:
        # minimal=1 only; "minimal=false"/"published=0" would switch the mode ON (§1, §9.16).
        found: dict[int, dict[str, Any]] = {}
        start = 0
        while True:
            params = {"start": start, "limit": PAGE_SIZE} | ({"minimal": 1} if minimal else {})
            _, body = await self._call("GET", path, params=params)
            body = responses.obj(body, f"GET {path}")
            page = responses.entities(body.get(key))  # an object keyed by id, or [] when empty
            before = len(found)
            found.update(page)
            start += len(page)
            total = responses.as_int(body.get("total"))  # an int here, a str for contacts
            more = start < total if total is not None else len(page) >= PAGE_SIZE
            if not page or len(found) == before or not more:
                return list(found.values())

    async def _batch(self, method: str, template: str, items: list[dict[str, Any]]) -> list[BatchItemResult]:
        where, results = f"{method} {template}", []
        for offset in range(0, len(items), self._batch_limit):
            chunk = items[offset : offset + self._batch_limit]
            _, body = await self._call(method, template, json=chunk, item_errors=True)
            results.extend(responses.batch_results(responses.obj(body, where), len(chunk), offset, where))
        return results

    def _check(self, response: httpx.Response, where: str, *args: Any) -> tuple[int, Any]:
        """``responses.check``, with refused credentials naming the settings of this client's auth mode."""
        try:
            return responses.check(response, where, *args)
        except AuthError as exc:
            if "Settings >" in exc.message:  # already says what to fix (API disabled)
                raise
            fix = credentials_fix(self._http.auth)
            raise AuthError(f"{exc.message.rstrip('.')}; {fix}.", status=exc.status) from None

    async def _call(
        self,
        method: str,
        template: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotent: bool = True,
        forbidden_hint: str | None = None,
        item_errors: bool = False,
        **ids: int,
    ) -> tuple[int, Any]:
        """Send one logical request with short retries; return (status, parsed JSON body)."""
        path = template.format(**{name: int(value) for name, value in ids.items()})
        where = f"{method} {path}"  # ids filled in (never a query string: it may hold an email)
        subject = (lambda message: responses.subject_of(template, ids, message)) if ids else None
        if self._read_only and method != "GET":
            raise ConfigError(f"dry run: refusing to send {method} {template} (a dry run only reads Mautic).")
        retrying = AsyncRetrying(
            # OutcomeUnknown is a TransientError too, but repeating it could apply the call twice.
            retry=retry_if_exception(
                lambda e: isinstance(e, TransientError) and not isinstance(e, RateLimited | OutcomeUnknown)
            ),
            wait=wait_random_exponential(multiplier=_RETRY_MULTIPLIER, max=self._retry_max_wait),
            stop=stop_after_attempt(self._retry_attempts),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                try:
                    response = await self._http.request(method, path, params=params, json=json)
                except httpx.HTTPError as exc:
                    raise responses.transport_error(exc, where, idempotent) from exc
                return self._check(response, where, idempotent, forbidden_hint, item_errors, subject)
        raise AssertionError("unreachable: tenacity reraises the last error")


def _channel(channel: str) -> str:
    """A DNC channel name for the path (``email``, ``sms``); anything else is our bug, not Mautic's."""
    if not channel.isidentifier():
        raise ValueError(f"not a Mautic channel name: {channel!r}")
    return channel
