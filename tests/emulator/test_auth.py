"""Authentication (Basic and OAuth2 client_credentials) and the rate limiter."""

from __future__ import annotations

import time

from mautic_ctl.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig, FaultConfig

from .conftest import Mautic

CLIENT = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}


def test_basic_auth_failures_have_the_recorded_bodies(mautic: Mautic) -> None:
    """Wrong password, unknown user and bad base64: "invalid credentials"; no header: "API authorization denied."."""
    for auth in (("admin", "wrong"), ("nobody", "x")):
        response = mautic.get("/api/contacts", auth=auth)
        assert response.status_code == 401 and "mautic-version" not in response.headers
        assert response.json() == {
            "errors": [{"message": "Authorization denied, invalid credentials.", "code": 401, "type": "access_denied"}]
        }
    garbage = mautic.get("/api/contacts", headers={"Authorization": "Basic !!!notbase64"}, auth=None)
    assert garbage.status_code == 401
    anonymous = mautic.request("GET", "/api/contacts", auth=None)
    assert anonymous.json()["errors"][0]["message"] == "API authorization denied."


def test_switches_give_403(make_mautic) -> None:
    """api_enabled=False -> 403 api_disabled; basic_auth_enabled=False -> 403 for Basic callers."""
    disabled = make_mautic(EmulatorConfig(api_enabled=False)).get("/api/contacts")
    assert disabled.status_code == 403 and disabled.json()["errors"][0]["type"] == "api_disabled"
    no_basic = make_mautic(EmulatorConfig(basic_auth_enabled=False)).get("/api/contacts")
    assert no_basic.status_code == 403 and no_basic.json()["errors"][0]["message"].startswith("Basic Auth disabled")


def test_unknown_routes_and_wrong_methods_are_router_404s(mautic: Mautic) -> None:
    """Both an unknown path and GET on /contacts/new: 404 "Requested URL not found", no Mautic-Version."""
    for path in ("/api/nosuchthing", "/api/contacts/new", "/api/contacts/abc"):
        response = mautic.get(path)
        assert response.status_code == 404 and "mautic-version" not in response.headers
        assert response.json() == {
            "errors": [{"message": f"Requested URL not found: {path}", "code": 404, "type": None}]
        }


def test_client_credentials_in_every_accepted_form(mautic: Mautic) -> None:
    """Form, JSON, GET query and HTTP-Basic client auth all yield a bearer token; older tokens stay valid."""
    form = mautic.post("/oauth/v2/token", data=CLIENT, auth=None)
    assert form.status_code == 200 and "mautic-version" not in form.headers
    body = form.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer" and body["scope"] is None
    tokens = [
        body["access_token"],
        mautic.post("/oauth/v2/token", json=CLIENT, auth=None).json()["access_token"],
        mautic.get("/oauth/v2/token", params=CLIENT, auth=None).json()["access_token"],
        mautic.post(
            "/oauth/v2/token",
            data={"grant_type": "client_credentials"},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        ).json()["access_token"],
    ]
    for token in tokens:
        assert mautic.get("/api/segments", headers={"Authorization": f"Bearer {token}"}, auth=None).status_code == 200
    by_query = mautic.get("/api/segments", params={"access_token": tokens[0]}, auth=None)
    assert by_query.status_code == 200
    created = mautic.post(
        "/api/contacts/new",
        json={"email": "o@example.com"},
        headers={"Authorization": f"Bearer {tokens[0]}"},
        auth=None,
    ).json()["contact"]
    assert created["createdBy"] is None and created["createdByUser"].endswith("[1]")


def test_token_endpoint_errors(mautic: Mautic) -> None:
    """Bad secret / unknown client: invalid_client; password grant: unauthorized_client; no grant: invalid_request."""
    cases = [
        ({**CLIENT, "client_secret": "nope"}, "invalid_client"),
        ({**CLIENT, "client_id": "999_x"}, "invalid_client"),
        ({**CLIENT, "grant_type": "password"}, "unauthorized_client"),
        ({"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}, "invalid_request"),
    ]
    for data, kind in cases:
        response = mautic.post("/oauth/v2/token", data=data, auth=None)
        assert response.status_code == 400 and response.json()["errors"][0]["type"] == kind


def test_expired_and_garbage_tokens(make_mautic) -> None:
    """A token past its lifetime -> 401 "has expired."; a garbage token -> 401 "is invalid."."""
    mautic = make_mautic(EmulatorConfig(token_lifetime=0.05))
    token = mautic.post("/oauth/v2/token", data=CLIENT, auth=None).json()["access_token"]
    assert mautic.get("/api/segments", headers={"Authorization": f"Bearer {token}"}, auth=None).status_code == 200
    time.sleep(0.1)
    expired = mautic.get("/api/segments", headers={"Authorization": f"Bearer {token}"}, auth=None)
    assert expired.status_code == 401 and "mautic-version" not in expired.headers
    assert expired.json()["errors"][0] == {
        "message": "The access token provided has expired.",
        "code": 401,
        "type": "invalid_grant",
    }
    garbage = mautic.get("/api/segments", headers={"Authorization": "Bearer not-a-real-token"}, auth=None)
    assert garbage.json()["errors"][0]["message"] == "The access token provided is invalid."


def test_rate_limiter_headers_and_429(make_mautic) -> None:
    """N calls per period on /api with X-RateLimit-* headers; the N+1th is 429; Basic callers share a bucket."""
    mautic = make_mautic(EmulatorConfig(faults=FaultConfig(rate_limit=3)))
    first = mautic.get("/api/segments")
    assert first.headers["x-ratelimit-limit"] == "3" and first.headers["x-ratelimit-remaining"] == "2"
    assert int(first.headers["x-ratelimit-reset"]) > time.time()
    mautic.get("/api/segments")
    mautic.get("/api/campaigns")
    refused = mautic.get("/api/segments")
    assert refused.status_code == 429
    assert refused.json() == {
        "errors": [{"code": 429, "message": "You exceeded the rate limit of 3 API calls per hour.", "details": []}]
    }
    token = mautic.post("/oauth/v2/token", data=CLIENT, auth=None).json()["access_token"]
    fresh = mautic.get("/api/segments", headers={"Authorization": f"Bearer {token}"}, auth=None)
    assert fresh.status_code == 200 and fresh.headers["x-ratelimit-remaining"] == "2"


def test_no_rate_limit_headers_when_off(mautic: Mautic) -> None:
    """With the limiter off (Mautic's default) no X-RateLimit-* header appears."""
    assert "x-ratelimit-limit" not in mautic.get("/api/segments").headers
