"""Errors that name the fix (issue 12, "Failures that hide their cause" 1 and 3): the client's messages.

Bodies are the real Mautic 5.1 answers quoted in tests/unit/test_client.py; the HTML page is what any
web server that is not Mautic answers.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from mautic_ctl.errors import AuthError, MauticSetupError, NotFound, NotMautic, TransientError
from mautic_ctl.mautic.auth import OAuth2ClientCredentials
from mautic_ctl.mautic.client import MauticClient
from tests.unit import test_client
from tests.unit.test_client import BAD_CREDENTIALS, INVALID_CLIENT, ITEM_NOT_FOUND

pytestmark = pytest.mark.anyio
anyio_backend, mock = test_client.anyio_backend, test_client.mock  # the same respx fixtures
BASE = "https://mautic.test"
CONTACT_NOT_FOUND = {"errors": [{"code": 404, "message": "Contact not found.", "details": []}]}
HTML = "<!doctype html><html><body>Welcome to nginx!</body></html>"


def client(auth: httpx.Auth | None = None) -> MauticClient:
    return MauticClient(BASE, auth=auth or httpx.BasicAuth("admin", "pw"), retry_attempts=1)


def oauth() -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(BASE, "1_id", SecretStr("wrong"))


async def test_refused_token_request_names_the_oauth_settings(mock):
    mock.post("/oauth/v2/token").respond(400, json=INVALID_CLIENT)
    async with client(oauth()) as c:
        with pytest.raises(AuthError) as info:
            await c.get_segment(1)
    assert isinstance(info.value, MauticSetupError) and info.value.exit_code == 78
    assert "The client credentials are invalid" in str(info.value)
    assert "MAUTIC_CLIENT_SECRET" in str(info.value) and "[mautic] client_id / client_secret" in str(info.value)
    assert "wrong" not in str(info.value)


async def test_basic_401_names_the_basic_settings(mock):
    mock.get("/api/segments/1").respond(401, json=BAD_CREDENTIALS)
    async with client() as c:
        with pytest.raises(AuthError) as info:
            await c.get_segment(1)
    assert "MAUTIC_PASSWORD" in str(info.value) and "basic auth is enabled" in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(404, text=HTML, headers={"content-type": "text/html"}), httpx.Response(200, text=HTML)],
    ids=["404-html", "200-html"],
)
async def test_a_web_page_at_the_token_url_is_not_mautic(mock, answer):
    mock.post("/oauth/v2/token").mock(return_value=answer)
    async with client(oauth()) as c:
        with pytest.raises(NotMautic) as info:
            await c.get_segment(1)
    assert str(info.value).startswith(f"this is not a Mautic API at {BASE}: POST /oauth/v2/token answered HTTP")
    assert "API is enabled" in str(info.value)


async def test_an_html_page_on_an_api_path_is_not_mautic(mock):
    mock.get("/mautic/api/segments/3").respond(200, text=HTML, headers={"content-type": "text/html"})
    async with MauticClient(BASE + "/mautic", auth=httpx.BasicAuth("a", "b"), retry_attempts=1) as c:
        with pytest.raises(NotMautic, match=r"not a Mautic API at https://mautic.test/mautic: GET /api/segments/3"):
            await c.get_segment(3)


async def test_connection_refused_names_host_port_and_a_hint(mock):
    mock.get("/api/segments/1").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    async with client() as c:
        with pytest.raises(TransientError) as info:
            await c.get_segment(1)
    assert "mautic.test:443" in str(info.value) and "Connection refused" in str(info.value)
    assert "MAUTIC_BASE_URL" in str(info.value)


async def test_https_against_plain_http_says_so(mock):
    err = httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    mock.get("/api/segments/1").mock(side_effect=err)
    async with client() as c:
        with pytest.raises(TransientError) as info:
            await c.get_segment(1)
    text = str(info.value)
    assert "mautic.test:443" in text and "does not speak https" in text and "http://" in text


@pytest.mark.parametrize(
    ("path", "body", "call", "named"),
    [
        ("/api/segments/42/contact/7/remove", ITEM_NOT_FOUND, "remove_from_segment", "segment #42"),
        ("/api/segments/42/contact/7/remove", CONTACT_NOT_FOUND, "remove_from_segment", "contact #7"),
        ("/api/campaigns/5/contact/7/remove", CONTACT_NOT_FOUND, "remove_from_campaign", "contact #7"),
        ("/api/campaigns/5/contact/7/add", ITEM_NOT_FOUND, "add_to_campaign", "campaign #5 or contact #7"),
    ],
)
async def test_a_404_names_the_object_without_placeholders(mock, path, body, call, named):
    mock.post(path).respond(404, json=body)
    async with client() as c:
        with pytest.raises(NotFound) as info:
            await getattr(c, call)(int(path.split("/")[3]), 7)
    text = str(info.value)
    assert f"POST {path} failed with HTTP 404: {named} does not exist in Mautic" in text
    assert "{" not in text
