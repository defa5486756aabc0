"""Authentication for the Mautic REST API, as ``httpx.Auth`` subclasses.

HTTP Basic is ``httpx.BasicAuth``. OAuth2 uses the client-credentials grant (Mautic 4.0+): the token
request travels through the same client as the API calls, so it shares the connection pool, the
transport (respx, the ASGI emulator) and the ``on_request`` audit hook. Secrets are revealed only
when a request is built; they never go into a repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol

import httpx

from mautic_ctl.errors import AuthError, ConfigError, TransientError

TOKEN_PATH = "/oauth/v2/token"
OAUTH2_FIX = (
    "check MAUTIC_CLIENT_ID / MAUTIC_CLIENT_SECRET ([mautic] client_id / client_secret), and that the client "
    "was created by an admin user under Settings > API Credentials"
)
BASIC_FIX = (
    "check MAUTIC_USERNAME / MAUTIC_PASSWORD ([mautic] username / password), and that HTTP basic auth is "
    "enabled in Mautic (Settings > Configuration > API Settings)"
)
API_DISABLED_FIX = "enable the API in Mautic (Settings > Configuration > API Settings)"


def credentials_fix(auth: httpx.Auth | None) -> str:
    """The settings a person must fix when Mautic refuses these credentials."""
    return BASIC_FIX if isinstance(auth, httpx.BasicAuth) else OAUTH2_FIX


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


Secret = str | _Secret


def reveal(secret: Secret) -> str:
    """Return the plain value of a ``SecretStr``-like object or a str."""
    getter = getattr(secret, "get_secret_value", None)
    return str(getter()) if callable(getter) else str(secret)


def _mautic_message(response: httpx.Response) -> str:
    """Mautic's own error message from an auth/OAuth error body (``{"errors":[{"message":…}]}``)."""
    try:
        errors = response.json().get("errors")
        first = errors[0] if isinstance(errors, list) else next(iter(errors.values()))
        return str(first.get("message") or "").strip() or f"HTTP {response.status_code}"
    except Exception:
        return f"HTTP {response.status_code}"


def _not_json(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return True
    return False


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer auth with a client_credentials token, fetched lazily and refreshed once on a 401.

    The token is kept until ``refresh_margin`` seconds (at most 10% of its life) before it expires.
    One ``asyncio.Lock`` guards fetching: a request that waited on the lock re-checks and reuses the
    token another request just fetched, so concurrent requests never refresh twice. A 401 from the
    API means the request was refused before Mautic ran it, so replaying it once is safe even for a
    non-idempotent call (campaign add).
    """

    def __init__(
        self,
        base_url: str,
        client_id: Secret,
        client_secret: Secret,
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._generation = 0  # bumped on every new token; lets a waiter see "someone refreshed"
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r})"

    def _get_lock(self) -> asyncio.Lock:
        # An asyncio.Lock binds to the first loop that waits on it; the CLI may run several loops
        # (one asyncio.run per command) over one auth object, so keep one lock per running loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": reveal(self._client_id),
            "client_secret": reveal(self._client_secret),
        }
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    async def _store(self, response: httpx.Response, sent_at: float) -> None:
        await response.aread()  # a custom async_auth_flow gets the response unread
        status = response.status_code
        if status >= 500 or status == 429:
            raise TransientError(f"POST {TOKEN_PATH} failed with HTTP {status}.", status=status)
        if status == 404 or _not_json(response):  # no OAuth2 server here: the URL is wrong
            from mautic_ctl.mautic.responses import not_mautic

            raise not_mautic(response, f"POST {TOKEN_PATH}")
        if status != 200:
            # 400 invalid_client / unauthorized_client / invalid_request: the credentials are wrong.
            raise AuthError(
                f"Mautic refused the OAuth2 client credentials ({_mautic_message(response)}); {OAUTH2_FIX}.",
                status=status,
            )
        try:
            body: Any = response.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuthError(f"POST {TOKEN_PATH} answered without an access token.", status=status) from exc
        margin = min(self._refresh_margin, expires_in * 0.1)
        self._token, self._expires_at = token, sent_at + expires_in - margin
        self._generation += 1

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentials works with httpx.AsyncClient only.")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._valid():
            async with self._get_lock():
                if not self._valid():  # another request may have fetched one while we waited
                    sent_at = self._clock()
                    await self._store((yield self._token_request()), sent_at)
        seen = self._generation
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._get_lock():
            if self._generation == seen:  # nobody refreshed since our token was issued
                sent_at = self._clock()
                await self._store((yield self._token_request()), sent_at)
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request  # one replay only; a second 401 reaches the client as an AuthError


def make_auth(
    base_url: str,
    *,
    username: str | None = None,
    password: Secret | None = None,
    client_id: Secret | None = None,
    client_secret: Secret | None = None,
) -> httpx.Auth:
    """Build the auth for ``MauticClient``: OAuth2 when client credentials are given, else Basic.

    OAuth2 is preferred because Basic runs bcrypt on every request (≈0.45 s per call against
    ≈0.02 s with a Bearer token, fact sheet §Timing).
    """
    if client_id and client_secret and reveal(client_id) and reveal(client_secret):
        return OAuth2ClientCredentials(base_url, client_id, client_secret)
    if username and password is not None and reveal(password):
        return httpx.BasicAuth(username, reveal(password))
    raise ConfigError("No Mautic credentials: set an OAuth2 client id and secret, or a username and password.")
