"""Unit tests of mautic_ctl.mautic.client and mautic_ctl.mautic.auth against respx-mocked Mautic answers.

Response bodies are copied from the real Mautic 5.1.0 recordings in shared/mautic-recordings/
(contact objects trimmed to the keys the client reads); the file and exchange are named beside each.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from mautic_ctl.errors import (
    AuthError,
    ConfigError,
    MauticError,
    NotFound,
    NotMautic,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from mautic_ctl.mautic.auth import OAuth2ClientCredentials, make_auth
from mautic_ctl.mautic.client import EMAIL_CHUNK, BatchItemResult, MauticClient, RequestRecord

pytestmark = pytest.mark.anyio

BASE = "https://mautic.test"
SECRET = "s3cr3t-Do-Not-Leak"
PASSWORD = "pa55-Do-Not-Leak"
TOKEN_1 = "ZGVkOWJkNzI5MTEzYjQ4OTk4NjYyYmM0MmYxNDAzYzdm"  # token shapes from 10-oauth2.json
TOKEN_2 = "ZjFlMTBmMzVmNDRiODZmNGEzNjA4YjRiMGVlM2Q0Mzk0"

# -- real bodies ------------------------------------------------------------------------------------
INVALID_CLIENT = {  # 10-oauth2.json "token: bad secret"
    "errors": [{"message": "The client credentials are invalid", "code": 400, "type": "invalid_client"}]
}
TOKEN_EXPIRED = {  # 14-oauth2-expired-token.json
    "errors": [{"message": "The access token provided has expired.", "code": 401, "type": "invalid_grant"}]
}
BAD_CREDENTIALS = {  # 01-auth.json "wrong password"
    "errors": [{"message": "Authorization denied, invalid credentials.", "code": 401, "type": "access_denied"}]
}
API_DISABLED = {  # fact sheet §2.1
    "errors": [
        {
            "message": "API disabled. You need to enable the API in the API settings of Mautic's Configuration.",
            "code": 403,
            "type": "api_disabled",
        }
    ]
}
ITEM_NOT_FOUND = {"errors": [{"code": 404, "message": "Item was not found.", "details": []}]}  # 03
ROUTE_NOT_FOUND = {  # 03-contacts-lookup.json "GET non-numeric id"
    "errors": [{"message": "Requested URL not found: /api/contacts/abc", "code": 404, "type": None}]
}
INVALID_EMAIL = {  # 02-contacts-upsert.json "invalid email (no @)"
    "errors": [
        {
            "code": 400,
            "message": "email: not-an-email-rix41n is invalid.",
            "details": {"email": ["not-an-email-rix41n is invalid."]},
        }
    ]
}
EMAIL_NOT_UNIQUE = {  # 04-contacts-edit.json "PATCH email to the email erin already has"
    "errors": [
        {
            "code": 422,
            "message": "email: This field must be unique.",
            "details": {"email": ["This field must be unique."]},
        }
    ]
}
EVENT_VIOLATION = {  # fact sheet §3: campaign event violations carry a UUID code and a path in details
    "errors": [{"code": "c1051bb4-d103-4f74-8988-acbcafc7fdc3", "message": "Event is invalid.", "details": "events"}]
}
SERVER_ERROR = {  # 02-contacts-upsert.json "POST with stage id that does not exist"
    "errors": [
        {
            "message": "Looks like I encountered an error (error #500). If I do it again, please report me "
            "to the system administrator!",
            "code": 500,
            "type": None,
        }
    ]
}
BATCH_LIMIT = {  # 05-contacts-batch.json "201 items"
    "errors": [{"code": 500, "message": "A max of 200 entities are supported at a time.", "details": []}]
}
FORBIDDEN = {  # 07-segments.json "add c1 to UNPUBLISHED segment"
    "errors": [{"code": 403, "message": "You do not have access to the requested area/action.", "details": []}]
}
RATE_LIMITED = {  # fact sheet §3 (the limiter is off on the recorded instance)
    "errors": [{"code": 429, "message": "You exceeded the rate limit of 100 API calls per hour.", "details": []}]
}
SUCCESS = {"success": 1}


def contact(contact_id: int, email: str, added: str = "2026-11-26T22:35:44+00:00") -> dict[str, Any]:
    """A contact as Mautic returns it for an existing contact (03/05), trimmed to a few fields."""
    return {
        "isPublished": True,
        "dateAdded": added,
        "dateModified": None,
        "createdBy": 1,
        "createdByUser": "Admin User",
        "id": contact_id,
        "points": 0,
        "color": None,
        "fields": {
            "core": {
                "email": {
                    "id": "6",
                    "label": "Email",
                    "alias": "email",
                    "type": "email",
                    "group": "core",
                    "object": "lead",
                    "is_fixed": "1",
                    "properties": "a:0:{}",
                    "default_value": None,
                    "value": email,
                    "normalizedValue": email,
                }
            },
            "social": [],
            "personal": [],
            "professional": [],
            "all": {"id": str(contact_id), "email": email, "firstname": None},
        },
    }


def token_body(token: str = TOKEN_1, expires_in: int = 3600) -> dict[str, Any]:
    """A client_credentials token answer (10-oauth2.json): scope null, no refresh_token."""
    return {"access_token": token, "expires_in": expires_in, "token_type": "bearer", "scope": None}


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mock():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def records() -> list[RequestRecord]:
    return []


@pytest.fixture
def make_client(records):
    def factory(auth: httpx.Auth | None = None, **kwargs: Any) -> MauticClient:
        kwargs.setdefault("retry_max_wait", 0.001)
        kwargs.setdefault("on_request", records.append)
        return MauticClient(BASE, auth=auth or httpx.BasicAuth("admin", PASSWORD), **kwargs)

    return factory


def oauth() -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(BASE, "1_clientid", SecretStr(SECRET))


def bearer(request: httpx.Request) -> str:
    return request.headers.get("Authorization", "")


# -- auth -------------------------------------------------------------------------------------------


async def test_oauth2_token_fetched_once_and_reused(mock, make_client):
    """One client_credentials token serves several calls, sent as a Bearer header."""
    token = mock.post("/oauth/v2/token").respond(200, json=token_body())
    api = mock.get("/api/segments/26").respond(200, json={"list": {"id": 26, "isPublished": True}})
    async with make_client(oauth()) as client:
        await client.get_segment(26)
        await client.get_segment(26)
    assert token.call_count == 1
    form = dict(httpx.QueryParams(token.calls[0].request.content.decode()))
    assert form == {"grant_type": "client_credentials", "client_id": "1_clientid", "client_secret": SECRET}
    assert [bearer(c.request) for c in api.calls] == [f"Bearer {TOKEN_1}"] * 2


async def test_oauth2_token_refetched_shortly_before_expiry(mock, make_client):
    """A token is dropped a little before expires_in runs out, without waiting for a 401."""
    now = [1000.0]
    auth = OAuth2ClientCredentials(BASE, "1_clientid", SECRET, clock=lambda: now[0])
    token = mock.post("/oauth/v2/token").mock(
        side_effect=[httpx.Response(200, json=token_body(TOKEN_1)), httpx.Response(200, json=token_body(TOKEN_2))]
    )
    api = mock.get("/api/segments/26").respond(200, json={"list": {"id": 26}})
    async with make_client(auth) as client:
        await client.get_segment(26)
        now[0] += 3500  # still more than the 60 s margin left
        await client.get_segment(26)
        now[0] += 70  # inside the margin
        await client.get_segment(26)
    assert token.call_count == 2
    assert [bearer(c.request) for c in api.calls] == [f"Bearer {TOKEN_1}"] * 2 + [f"Bearer {TOKEN_2}"]


async def test_oauth2_refreshes_once_on_401_and_replays(mock, make_client):
    """An expired token (401) triggers one new token and one replay of the same request."""
    token = mock.post("/oauth/v2/token").mock(
        side_effect=[httpx.Response(200, json=token_body(TOKEN_1)), httpx.Response(200, json=token_body(TOKEN_2))]
    )
    api = mock.post("/api/contacts/new").mock(
        side_effect=[
            httpx.Response(401, json=TOKEN_EXPIRED),
            httpx.Response(201, json={"contact": contact(54, "a@b.c")}),
        ]
    )
    async with make_client(oauth()) as client:
        result = await client.upsert_contact({"email": "a@b.c"})
    assert result.contact_id == 54 and result.created
    assert token.call_count == 2
    assert [bearer(c.request) for c in api.calls] == [f"Bearer {TOKEN_1}", f"Bearer {TOKEN_2}"]
    assert json.loads(api.calls[1].request.content) == {"email": "a@b.c"}  # replayed with its body


async def test_oauth2_second_401_is_auth_error(mock, make_client):
    """A 401 after the one refresh is an AuthError; no further token fetch or replay happens."""
    token = mock.post("/oauth/v2/token").respond(200, json=token_body())
    api = mock.get("/api/segments/26").respond(401, json=TOKEN_EXPIRED)
    async with make_client(oauth()) as client:
        with pytest.raises(AuthError, match="The access token provided has expired"):
            await client.get_segment(26)
    assert token.call_count == 2
    assert api.call_count == 2


async def test_concurrent_requests_share_one_token_fetch(mock, make_client):
    """Requests started together wait on one token fetch instead of fetching one each."""

    async def slow_token(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(200, json=token_body())

    token = mock.post("/oauth/v2/token").mock(side_effect=slow_token)
    mock.get("/api/segments/26").respond(200, json={"list": {"id": 26}})
    async with make_client(oauth()) as client:
        await asyncio.gather(*(client.get_segment(26) for _ in range(5)))
    assert token.call_count == 1


async def test_concurrent_401s_share_one_refresh(mock, make_client):
    """Several requests refused with the same expired token trigger exactly one refresh."""
    tokens = iter([TOKEN_1, TOKEN_2, "a-third-token"])
    token = mock.post("/oauth/v2/token").mock(side_effect=lambda r: httpx.Response(200, json=token_body(next(tokens))))
    expired: set[str] = set()

    async def api_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)  # keep all requests in flight together
        if bearer(request).removeprefix("Bearer ") in expired:
            return httpx.Response(401, json=TOKEN_EXPIRED)
        return httpx.Response(200, json={"list": {"id": 26}})

    api = mock.get("/api/segments/26").mock(side_effect=api_answer)
    async with make_client(oauth()) as client:
        await client.get_segment(26)
        expired.add(TOKEN_1)
        await asyncio.gather(*(client.get_segment(26) for _ in range(4)))
    assert token.call_count == 2
    assert api.call_count == 1 + 4 + 4  # first call, four refused, four replays
    assert all(bearer(c.request) == f"Bearer {TOKEN_2}" for c in api.calls[5:])


async def test_token_error_is_auth_error(mock, make_client):
    """400 invalid_client from the token endpoint is an AuthError carrying Mautic's message."""
    mock.post("/oauth/v2/token").respond(400, json=INVALID_CLIENT)
    api = mock.get("/api/segments/26").respond(200, json={"list": {"id": 26}})
    async with make_client(oauth()) as client:
        with pytest.raises(AuthError, match="The client credentials are invalid") as info:
            await client.get_segment(26)
    assert SECRET not in str(info.value)
    assert api.call_count == 0


async def test_token_endpoint_outage_is_transient(mock, make_client):
    """A 503 from the token endpoint is transient (retried), not a credentials problem."""
    token = mock.post("/oauth/v2/token").respond(503, text="Service Unavailable")
    async with make_client(oauth(), retry_attempts=2) as client:
        with pytest.raises(TransientError):
            await client.get_segment(26)
    assert token.call_count == 2


async def test_basic_auth_header_sent(mock, make_client):
    """Basic auth sends base64(user:password) on every request."""
    api = mock.get("/api/segments/26").respond(200, json={"list": {"id": 26}})
    async with make_client(make_auth(BASE, username="admin", password=SecretStr(PASSWORD))) as client:
        await client.get_segment(26)
    assert bearer(api.calls[0].request) == httpx.BasicAuth("admin", PASSWORD)._auth_header


def test_make_auth_prefers_oauth2_and_needs_credentials():
    """make_auth picks OAuth2 over Basic when both are given and refuses to run without any."""
    both = make_auth(BASE, username="u", password="p", client_id="1_x", client_secret=SecretStr("y"))
    assert isinstance(both, OAuth2ClientCredentials)
    assert both.token_url == f"{BASE}/oauth/v2/token"
    assert isinstance(make_auth(BASE, username="u", password=SecretStr("p")), httpx.BasicAuth)
    with pytest.raises(ConfigError):
        make_auth(BASE, username="u")
    assert SECRET not in repr(OAuth2ClientCredentials(BASE, "1_x", SECRET))


def test_constructor_rejects_bad_configuration():
    """A URL without a scheme or a batch limit over Mautic's 200 is a ConfigError, not an HTTP error."""
    with pytest.raises(ConfigError):
        MauticClient("mautic.test", auth=None)
    with pytest.raises(ConfigError):
        MauticClient(BASE, auth=None, batch_limit=201)


# -- error mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        (httpx.ReadTimeout("timed out"), TransientError, None),
        (httpx.ConnectError("[Errno 111] Connection refused"), TransientError, None),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), TransientError, None),
        (httpx.Response(500, json=SERVER_ERROR), TransientError, 500),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), TransientError, 502),
        (httpx.Response(503, text=""), TransientError, 503),
        (httpx.Response(400, json=INVALID_EMAIL), PermanentError, 400),
        (httpx.Response(422, json=EMAIL_NOT_UNIQUE), PermanentError, 422),
        (httpx.Response(422, json=EVENT_VIOLATION), PermanentError, 422),
        (httpx.Response(404, json=ITEM_NOT_FOUND), NotFound, 404),
        (httpx.Response(200, json=INVALID_EMAIL), PermanentError, 200),
        (httpx.Response(500, json=BATCH_LIMIT), PermanentError, 500),
        (httpx.Response(401, json=BAD_CREDENTIALS), AuthError, 401),
        (httpx.Response(403, json=API_DISABLED), AuthError, 403),
    ],
    ids=[
        "read-timeout",
        "connect-error",
        "dropped-connection",
        "500",
        "502-html",
        "503-empty",
        "400-invalid-email",
        "422-not-unique",
        "422-uuid-code",
        "404-item",
        "200-with-errors",
        "500-batch-limit",
        "401-basic",
        "403-api-disabled",
    ],
)
async def test_error_mapping(mock, make_client, answer, error, status):
    """Each transport failure and Mautic error answer maps to its class in errors.py."""
    mock.post("/api/contacts/new").mock(side_effect=[answer])
    async with make_client(retry_attempts=1) as client:
        with pytest.raises(error) as info:
            await client.upsert_contact({"email": "x@example.com"})
    assert type(info.value) is error
    assert info.value.status == status
    assert str(info.value).startswith("POST /api/contacts/new ")
    if isinstance(answer, Exception):
        assert isinstance(info.value.__cause__, httpx.HTTPError)  # raise … from exc


async def test_error_message_has_mautic_text_and_template_but_no_query(mock, make_client):
    """Messages carry Mautic's message and the path template, never the query string or ids' values."""
    mock.get("/api/contacts").respond(500, json=SERVER_ERROR)
    mock.get("/api/contacts/1037").respond(404, json=ITEM_NOT_FOUND)
    async with make_client(retry_attempts=1) as client:
        with pytest.raises(TransientError) as lookup:
            await client.find_contact_by_email("o'brien@example.com")
        with pytest.raises(NotFound) as get:
            await client.get_contact(1037)
    assert "Looks like I encountered an error" in str(lookup.value)
    assert "o'brien" not in str(lookup.value) and "where" not in str(lookup.value)
    assert str(get.value) == (
        "GET /api/contacts/1037 failed with HTTP 404: contact #1037 does not exist in Mautic (Item was not found.)"
    )


async def test_router_404_is_not_a_missing_entity(mock, make_client):
    """A router-level 404 ("Requested URL not found") means the URL is not Mautic's API: NotMautic, not NotFound."""
    mock.get("/api/contacts/5").respond(404, json=ROUTE_NOT_FOUND)
    async with make_client() as client:
        with pytest.raises(NotMautic) as info:
            await client.get_contact(5)
    assert not isinstance(info.value, NotFound)
    assert str(info.value).startswith("this is not a Mautic API at https://mautic.test: GET /api/contacts/5 answered")
    assert "check MAUTIC_BASE_URL" in str(info.value)


async def test_429_carries_reset_time_and_is_not_retried(mock, make_client):
    """429 → RateLimited with reset_at from X-RateLimit-Reset; no in-process retry or sleep."""
    reset = 1_800_000_000
    route = mock.get("/api/segments/26").respond(
        429, json=RATE_LIMITED, headers={"X-RateLimit-Limit": "100", "X-RateLimit-Reset": str(reset)}
    )
    async with make_client() as client:
        with pytest.raises(RateLimited) as info:
            await client.get_segment(26)
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert route.call_count == 1


async def test_429_without_reset_header_waits_a_minute(mock, make_client):
    """Without X-RateLimit-Reset, RateLimited.reset_at defaults to about now + 60 s."""
    mock.get("/api/segments/26").respond(429, json=RATE_LIMITED)
    async with make_client() as client:
        with pytest.raises(RateLimited) as info:
            await client.get_segment(26)
    assert info.value.reset_at is not None
    assert abs(info.value.reset_at - (datetime.now(UTC) + timedelta(seconds=60))) < timedelta(seconds=5)


async def test_403_on_segment_add_means_unpublished(mock, make_client):
    """403 "You do not have access…" on a segment membership call is permanent and says why."""
    mock.post("/api/segments/29/contact/1047/add").respond(403, json=FORBIDDEN)
    mock.post("/api/segments/29/contacts/add").respond(403, json=FORBIDDEN)
    async with make_client() as client:
        with pytest.raises(PermanentError, match="unpublished"):
            await client.add_to_segment(29, 1047)
        with pytest.raises(PermanentError, match="unpublished"):
            await client.add_to_segment_batch(29, [1047])


# -- retries ----------------------------------------------------------------------------------------


async def test_idempotent_call_retried_on_503_then_succeeds(mock, make_client, records):
    """A GET that meets 503 twice is retried in-process and returns the third answer."""
    route = mock.get("/api/segments/26").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"list": {"id": 26}})]
    )
    async with make_client() as client:
        assert (await client.get_segment(26))["id"] == 26
    assert route.call_count == 3
    assert [r.status for r in records] == [503, 503, 200]


async def test_retry_attempts_one_disables_retries(mock, make_client):
    """retry_attempts=1 sends a failing request exactly once."""
    route = mock.get("/api/segments/26").respond(503)
    async with make_client(retry_attempts=1) as client:
        with pytest.raises(TransientError):
            await client.get_segment(26)
    assert route.call_count == 1


async def test_add_to_campaign_not_retried_after_read_timeout(mock, make_client):
    """A campaign add that timed out after sending is not repeated and is flagged ambiguous."""
    route = mock.post("/api/campaigns/24/contact/1113/add").mock(side_effect=httpx.ReadTimeout("timed out"))
    async with make_client(retry_attempts=5) as client:
        with pytest.raises(OutcomeUnknown) as info:
            await client.add_to_campaign(24, 1113)
    assert route.call_count == 1
    assert info.value.ambiguous and isinstance(info.value, TransientError)


async def test_add_to_campaign_not_retried_after_500(mock, make_client):
    """A 5xx on a campaign add may hide a completed add: one request, OutcomeUnknown with status."""
    route = mock.post("/api/campaigns/24/contact/1113/add").respond(500, json=SERVER_ERROR)
    async with make_client(retry_attempts=5) as client:
        with pytest.raises(OutcomeUnknown) as info:
            await client.add_to_campaign(24, 1113)
    assert route.call_count == 1 and info.value.status == 500


async def test_add_to_campaign_retried_after_connect_error(mock, make_client):
    """A connection that never opened sent nothing, so the campaign add is retried."""
    route = mock.post("/api/campaigns/24/contact/1113/add").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=SUCCESS)]
    )
    async with make_client() as client:
        await client.add_to_campaign(24, 1113)
    assert route.call_count == 2


async def test_idempotent_timeout_is_not_ambiguous(mock, make_client):
    """Timeouts on repeatable calls are plain TransientErrors after the retries run out."""
    route = mock.post("/api/campaigns/24/contact/1113/remove").mock(side_effect=httpx.ReadTimeout("timed out"))
    async with make_client(retry_attempts=2) as client:
        with pytest.raises(TransientError) as info:
            await client.remove_from_campaign(24, 1113)
    assert route.call_count == 2 and not info.value.ambiguous


# -- contacts ---------------------------------------------------------------------------------------


async def test_find_contact_uses_where_in_and_returns_match(mock, make_client):
    """The email lookup is where[0][expr]=in (never eq or search=email:), minimal, limit 2."""
    email = "o'brien-r7glth@example.com"
    route = mock.get("/api/contacts").respond(200, json={"total": "1", "contacts": {"1037": contact(1037, email)}})
    async with make_client() as client:
        found = await client.find_contact_by_email(email)
    assert found is not None and found["id"] == 1037
    params = route.calls[0].request.url.params
    assert params["where[0][col]"] == "email"
    assert params["where[0][expr]"] == "in"
    assert params["where[0][val]"] == email
    assert params["minimal"] == "1" and params["limit"] == "2"
    assert "search" not in params


async def test_find_contact_empty_result_is_none(mock, make_client):
    """{"total":"0","contacts":{}} (03, lookup matching nothing) means no contact."""
    mock.get("/api/contacts").respond(200, json={"total": "0", "contacts": {}})
    async with make_client() as client:
        assert await client.find_contact_by_email("nobody@example.com") is None


async def test_find_contact_checks_email_and_picks_newest(mock, make_client):
    """Results are re-checked case-insensitively and the newest exact match wins."""
    body = {
        "total": "3",
        "contacts": {
            "1034": contact(1034, "Carol@Example.com", "2026-11-26T22:35:27+00:00"),
            "1035": contact(1035, "carol@example.com.au", "2026-11-26T22:35:29+00:00"),
            "1040": contact(1040, "CAROL@example.com", "2026-11-26T22:35:28+00:00"),
        },
    }
    mock.get("/api/contacts").respond(200, json=body)
    async with make_client() as client:
        found = await client.find_contact_by_email("carol@example.COM")
    assert found is not None and found["id"] == 1040


async def test_upsert_contact_created_or_existing(mock, make_client):
    """201 means created, 200 existing; None values and overwriteWithBlank are never sent, as JSON."""
    route = mock.post("/api/contacts/new").mock(
        side_effect=[
            httpx.Response(201, json={"contact": contact(1034, "carol@example.com")}),
            httpx.Response(200, json={"contact": contact(1034, "carol@example.com")}),
        ]
    )
    fields = {"email": "carol@example.com", "firstname": None, "overwriteWithBlank": True, "city": "Lyon"}
    async with make_client() as client:
        first = await client.upsert_contact(fields)
        second = await client.upsert_contact(fields)
    assert (first.contact_id, first.created, second.created) == (1034, True, False)
    request = route.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"email": "carol@example.com", "city": "Lyon"}


async def test_update_contact_uses_patch(mock, make_client):
    """update_contact PATCHes /api/contacts/{id}/edit with a JSON body; PUT is never used."""
    route = mock.patch("/api/contacts/54/edit").respond(200, json={"contact": contact(54, "a@b.c")})
    put = mock.put("/api/contacts/54/edit").respond(200, json={})
    async with make_client() as client:
        await client.update_contact(54, {"city": "Berlin"})
    assert route.call_count == 1 and put.call_count == 0
    assert json.loads(route.calls[0].request.content) == {"city": "Berlin"}


async def test_batch_upsert_object_with_gaps(mock, make_client):
    """05 "3 items, middle one invalid": contacts keyed by index with a gap, errors as an object."""
    body = {
        "contacts": {"0": contact(1040, "b1-rx2nnh@example.com"), "2": contact(1041, "b3-rx2nnh@example.com")},
        "statusCodes": [201, 400, 201],
        "errors": {
            "1": {
                "code": 400,
                "message": "email: not-an-email-rx2nnh is invalid.",
                "details": {"email": ["not-an-email-rx2nnh is invalid."]},
                "type": None,
            }
        },
    }
    mock.post("/api/contacts/batch/new").respond(201, json=body)
    items = [{"email": "b1-rx2nnh@example.com"}, {"email": "not-an-email-rx2nnh"}, {"email": "b3-rx2nnh@example.com"}]
    async with make_client() as client:
        results = await client.upsert_contacts(items)
    assert [(r.index, r.ok, r.status, r.contact_id, r.created) for r in results] == [
        (0, True, 201, 1040, True),
        (1, False, 400, None, False),
        (2, True, 201, 1041, True),
    ]
    assert isinstance(results[1].error, PermanentError)
    assert "not-an-email-rx2nnh is invalid" in str(results[1].error)


async def test_batch_upsert_array_with_duplicate_email(mock, make_client):
    """05 "same new email twice": contacts as an array, statusCodes [201, 200], same id twice."""
    body = {"contacts": [contact(1044, "dup@example.com"), contact(1044, "dup@example.com")], "statusCodes": [201, 200]}
    mock.post("/api/contacts/batch/new").respond(201, json=body)
    async with make_client() as client:
        results = await client.upsert_contacts([{"email": "dup@example.com"}, {"email": "dup@example.com"}])
    assert results == [
        BatchItemResult(0, True, 201, 1044, True, None),
        BatchItemResult(1, True, 200, 1044, False, None),
    ]


async def test_batch_edit_errors_as_array(mock, make_client):
    """05 "item with invalid email": errors is an array (index 0 failed) and the entity stays in contacts."""
    body = {
        "contacts": [contact(1040, "b1@example.com"), contact(1041, "b3@example.com")],
        "statusCodes": [400, 200],
        "errors": [
            {
                "code": 400,
                "message": "email: broken-rx2nnh is invalid.",
                "details": {"email": ["broken-rx2nnh is invalid."]},
                "type": None,
            }
        ],
    }
    route = mock.patch("/api/contacts/batch/edit").respond(200, json=body)
    async with make_client() as client:
        results = await client.update_contacts(
            [{"id": 1040, "email": "broken-rx2nnh"}, {"id": 1041, "firstname": "B3"}]
        )
    assert [(r.ok, r.status) for r in results] == [(False, 400), (True, 200)]
    assert "broken-rx2nnh is invalid" in str(results[0].error)
    assert json.loads(route.calls[0].request.content)[0] == {"id": 1040, "email": "broken-rx2nnh"}


async def test_batch_edit_not_found_items(mock, make_client):
    """05 "unknown id": per-item 404s in an errors object become NotFound on those items."""
    body = {
        "contacts": [contact(1040, "b1@example.com")],
        "statusCodes": [200, 404, 404],
        "errors": {
            "1": {"message": "Item was not found.", "code": 404, "type": "api"},
            "2": {"message": "Item was not found.", "code": 404, "type": "api"},
        },
    }
    mock.patch("/api/contacts/batch/edit").respond(200, json=body)
    async with make_client() as client:
        results = await client.update_contacts([{"id": 1040}, {"id": 999999998}, {"id": 999999999}])
    assert [r.ok for r in results] == [True, False, False]
    assert all(isinstance(r.error, NotFound) for r in results[1:])


async def test_batch_chunks_at_batch_limit(mock, make_client):
    """450 items go out as 200 + 200 + 50 and results keep the input index."""
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        sizes.append(len(items))
        first_id = int(items[0]["email"].split("@")[0])
        contacts = [contact(10_000 + first_id + i, item["email"]) for i, item in enumerate(items)]
        return httpx.Response(201, json={"contacts": contacts, "statusCodes": [201] * len(items)})

    mock.post("/api/contacts/batch/new").mock(side_effect=answer)
    async with make_client() as client:
        results = await client.upsert_contacts([{"email": f"{i}@example.com"} for i in range(450)])
    assert sizes == [200, 200, 50]
    assert [r.index for r in results] == list(range(450))
    assert [r.contact_id for r in results] == [10_000 + i for i in range(450)]


async def test_batch_whole_chunk_failure_raises(mock, make_client):
    """A batch-limit 500 fails the whole call as PermanentError and is not retried."""
    route = mock.post("/api/contacts/batch/new").respond(500, json=BATCH_LIMIT)
    async with make_client(batch_limit=200) as client:
        with pytest.raises(PermanentError, match="A max of 200 entities"):
            await client.upsert_contacts([{"email": "a@example.com"}])
    assert route.call_count == 1


async def test_contact_memberships_empty_list_or_object(mock, make_client):
    """Contact segments/campaigns come back as [] when empty or as an object keyed by id."""
    mock.get("/api/contacts/1047/segments").respond(200, json={"total": 0, "lists": []})
    seg = {"id": 26, "name": "Tier Pro", "alias": "tier-pro", "manuallyRemoved": False, "manuallyAdded": True}
    camp = {"id": 24, "name": "Welcome", "listMembership": [42], "manuallyRemoved": False, "manuallyAdded": True}
    mock.get("/api/contacts/1048/segments").respond(200, json={"total": 1, "lists": {"26": seg}})
    mock.get("/api/contacts/1113/campaigns").respond(200, json={"total": 1, "campaigns": {"24": camp}})
    async with make_client() as client:
        assert await client.contact_segments(1047) == {}
        assert await client.contact_segments(1048) == {26: seg}
        assert await client.contact_campaigns(1113) == {24: camp}


# -- segments, campaigns, fields --------------------------------------------------------------------


async def test_segment_batch_add_sends_ids(mock, make_client):
    """The segment batch add sends {"ids": [...]} and reads per-id success from details (07)."""
    body = {
        "success": 1,
        "details": {"1047": {"success": True}, "1048": {"success": True}, "999999999": {"success": False}},
    }
    route = mock.post("/api/segments/26/contacts/add").respond(200, json=body)
    async with make_client() as client:
        result = await client.add_to_segment_batch(26, [1047, 1048, 999999999])
    assert json.loads(route.calls[0].request.content) == {"ids": [1047, 1048, 999999999]}
    assert result == {1047: True, 1048: True, 999999999: False}


async def test_segment_batch_add_chunks(mock, make_client):
    """Segment batch adds are chunked at batch_limit although Mautic enforces no limit."""
    seen: list[list[int]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        seen.append(ids)
        return httpx.Response(200, json={"success": 1, "details": {str(i): {"success": True} for i in ids}})

    mock.post("/api/segments/26/contacts/add").mock(side_effect=answer)
    async with make_client(batch_limit=2) as client:
        result = await client.add_to_segment_batch(26, [1, 2, 3, 4, 5])
    assert seen == [[1, 2], [3, 4], [5]]
    assert result == dict.fromkeys([1, 2, 3, 4, 5], True)


async def test_membership_calls_hit_real_paths(mock, make_client):
    """Single membership calls POST to …/contact/{cid}/add|remove and accept {"success":1}."""
    routes = [
        mock.post("/api/segments/26/contact/1047/add").respond(200, json=SUCCESS),
        mock.post("/api/segments/26/contact/1047/remove").respond(200, json=SUCCESS),
        mock.post("/api/campaigns/24/contact/1113/add").respond(200, json=SUCCESS),
        mock.post("/api/campaigns/24/contact/1113/remove").respond(200, json=SUCCESS),
    ]
    async with make_client() as client:
        await client.add_to_segment(26, 1047)
        await client.remove_from_segment(26, 1047)
        await client.add_to_campaign(24, 1113)
        await client.remove_from_campaign(24, 1113)
    assert [r.call_count for r in routes] == [1, 1, 1, 1]


async def test_get_entities_and_not_found(mock, make_client):
    """get_segment/get_campaign/get_field unwrap list/campaign/field; a missing id is NotFound."""
    mock.get("/api/segments/26").respond(200, json={"list": {"id": 26, "isPublished": True}})
    mock.get("/api/campaigns/24").respond(200, json={"campaign": {"id": 24, "allowRestart": False}})
    mock.get("/api/fields/contact/92").respond(200, json={"field": {"id": 92, "alias": "plan_r9cjql"}})
    mock.get("/api/campaigns/999999").respond(404, json=ITEM_NOT_FOUND)
    async with make_client() as client:
        assert (await client.get_segment(26))["isPublished"] is True
        assert (await client.get_campaign(24))["allowRestart"] is False
        assert (await client.get_field(92))["alias"] == "plan_r9cjql"
        with pytest.raises(NotFound):
            await client.get_campaign(999999)


async def test_list_fields_pages_with_string_total(mock, make_client):
    """Lists page with start/limit=200 (never 0) until total, which may be a string."""

    def answer(request: httpx.Request) -> httpx.Response:
        start, limit = int(request.url.params["start"]), int(request.url.params["limit"])
        ids = range(start + 1, min(start + limit, 250) + 1)
        fields = {str(i): {"id": i, "alias": f"f{i}", "isPublished": True} for i in ids}
        return httpx.Response(200, json={"total": "250", "fields": fields})

    route = mock.get("/api/fields/contact").mock(side_effect=answer)
    async with make_client() as client:
        fields = await client.list_fields()
    assert [f["id"] for f in fields] == list(range(1, 251))
    params = [dict(c.request.url.params) for c in route.calls]
    assert params == [{"start": "0", "limit": "200"}, {"start": "200", "limit": "200"}]


async def test_list_segments_and_campaigns_minimal_and_empty(mock, make_client):
    """Segments and campaigns are listed with minimal=1 only; an empty list is []."""
    seg = {"id": 10, "name": "acc churned 8af44f", "alias": "acc-churned-8af44f", "isPublished": True}
    segs = mock.get("/api/segments").respond(200, json={"total": 1, "lists": {"10": seg}})
    camps = mock.get("/api/campaigns").respond(200, json={"total": 0, "campaigns": []})
    async with make_client() as client:
        assert await client.list_segments() == [seg]
        assert await client.list_campaigns() == []
    for route in (segs, camps):
        assert dict(route.calls[0].request.url.params) == {"start": "0", "limit": "200", "minimal": "1"}


# -- audit records and secrets ----------------------------------------------------------------------


async def test_on_request_records_every_exchange(mock, make_client, records):
    """Each exchange, token fetch included, is recorded with its path (no query), status and time."""
    mock.post("/oauth/v2/token").respond(200, json=token_body())
    mock.get("/api/contacts").respond(200, json={"total": "0", "contacts": {}})
    async with make_client(oauth()) as client:
        await client.find_contact_by_email("carol@example.com")
    assert [(r.method, r.path, r.status, r.error) for r in records] == [
        ("POST", "/oauth/v2/token", 200, None),
        ("GET", "/api/contacts", 200, None),
    ]
    assert all(r.duration_s >= 0 for r in records)
    assert "carol" not in repr(records)


async def test_no_secret_in_errors_or_records(mock, make_client, records):
    """Neither the client secret, the password nor a token appears in any message, cause or record."""
    mock.post("/oauth/v2/token").mock(
        side_effect=[
            httpx.Response(200, json=token_body(TOKEN_1)),
            httpx.Response(200, json=token_body(TOKEN_2)),
            httpx.Response(400, json=INVALID_CLIENT),
        ]
    )
    mock.get("/api/segments/26").mock(
        side_effect=[httpx.Response(401, json=TOKEN_EXPIRED), httpx.Response(401, json=TOKEN_EXPIRED)]
    )
    mock.get("/api/segments/27").mock(side_effect=httpx.ReadTimeout("timed out"))
    mock.get("/api/segments/28").respond(401, json=BAD_CREDENTIALS)
    errors: list[BaseException] = []
    async with make_client(oauth(), retry_attempts=1) as client:
        for segment_id in (26, 27):
            with pytest.raises(MauticError) as info:
                await client.get_segment(segment_id)
            errors.append(info.value)
    async with make_client(oauth()) as client:  # a fresh auth: its token request gets invalid_client
        with pytest.raises(AuthError) as info:
            await client.get_segment(26)
        errors.append(info.value)
    async with make_client(make_auth(BASE, username="admin", password=SecretStr(PASSWORD))) as client:
        with pytest.raises(AuthError) as info:
            await client.get_segment(28)
        errors.append(info.value)
    texts = [repr(records)]
    for error in errors:
        while error is not None:
            texts += [str(error), repr(error)]
            error = error.__cause__ or error.__context__
    for secret in (SECRET, PASSWORD, TOKEN_1, TOKEN_2):
        assert not any(secret in text for text in texts), secret


# -- batched reads for issue 10 (contacts by many emails, member ids) and the read-only client ----------
# The campaign-contacts body is the real answer of tests/emulator/recordings/08-campaigns.json.

CAMPAIGN_CONTACTS = {  # 08-campaigns.json "campaign contacts"
    "total": "1",
    "contacts": [{"campaign_id": "24", "lead_id": "1113", "date_added": "2026-11-26 22:43:36",
                  "manually_removed": "0", "manually_added": "1", "rotation": "1"}],
}  # fmt: skip


async def test_many_emails_are_looked_up_a_chunk_per_call_and_matched_case_insensitively(mock, make_client):
    emails = [f"User{i}@Example.com" for i in range(EMAIL_CHUNK + 3)]

    def answer(request):
        wanted = request.url.params["where[0][val]"].split(",")
        assert request.url.params["where[0][expr]"] == "in"
        assert int(request.url.params["limit"]) == 2 * len(wanted)
        body = {str(1000 + i): contact(1000 + i, e.upper()) for i, e in enumerate(wanted)}
        body["1"] = contact(1, "someone-else@example.com")  # an unrelated row (an ignored expression)
        return httpx.Response(200, json={"total": str(len(body)), "contacts": body})

    route = mock.get("/api/contacts").mock(side_effect=answer)
    async with make_client() as client:
        found = await client.find_contacts_by_emails(emails)
    assert route.call_count == 2
    assert set(found) == {e.casefold() for e in emails}
    assert "someone-else@example.com" not in found


async def test_campaign_member_ids_read_the_stats_rows(mock, make_client):
    mock.get("/api/campaigns/24/contacts").respond(200, json=CAMPAIGN_CONTACTS)
    async with make_client() as client:
        assert await client.campaign_member_ids(24) == {1113}


async def test_segment_member_ids_page_through_a_segment_search(mock, make_client):
    pages = {"0": {str(i): contact(i, f"m{i}@example.com") for i in range(1, 201)},
             "200": {"201": contact(201, "m201@example.com")}}  # fmt: skip

    def answer(request):
        assert request.url.params["search"] == "segment:pro-tier"
        assert request.url.params.get_list("select[]") == ["id"]
        body = pages[request.url.params["start"]]
        return httpx.Response(200, json={"total": "201", "contacts": body})

    route = mock.get("/api/contacts").mock(side_effect=answer)
    async with make_client() as client:
        ids = await client.segment_member_ids("pro-tier")
    assert ids == set(range(1, 202)) and route.call_count == 2


async def test_a_read_only_client_refuses_every_call_but_get(mock, make_client):
    add = mock.post("/api/campaigns/1/contact/2/add").respond(200, json={"success": 1})
    async with make_client(read_only=True) as client:
        with pytest.raises(ConfigError, match="dry run"):
            await client.add_to_campaign(1, 2)
    assert not add.called
