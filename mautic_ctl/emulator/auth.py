"""HTTP Basic and OAuth2 client_credentials, answered with the exact bodies of scenarios 01, 10 and 14.

Tokens live in a dict; issuing a new one never revokes older ones (O17). Every failure is an
`AuthFailure` carrying a response without the Mautic-Version header, and the cost class the
`mautic51` profile charges for it (a wrong Basic password costs a full bcrypt check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from .config import EmulatorConfig
from .errors import bare_response, system_error
from .state import Actor

INVALID_CREDENTIALS = "Authorization denied, invalid credentials."
NO_AUTH = "API authorization denied."
TOKEN_INVALID = "The access token provided is invalid."
TOKEN_EXPIRED = "The access token provided has expired."
API_DISABLED = "API disabled. You need to enable the API in the API settings of Mautic's Configuration."
BASIC_DISABLED = "Basic Auth disabled. You need to enable Basic Auth in the API settings of Mautic's Configuration."


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: who, how ("basic" or "bearer"), and its rate-limit bucket."""

    actor: Actor
    kind: str
    bucket: str


class AuthFailure(Exception):
    def __init__(self, response: Response, cost: str) -> None:
        super().__init__(cost)
        self.response = response
        self.cost = cost


@dataclass
class Token:
    client_id: str
    expires_at: float


def auth_kind(headers: Any, query: dict[str, Any]) -> str:
    """How a request tries to authenticate, for counters: basic, bearer, query_token or none."""
    header = headers.get("authorization", "")
    scheme = header.split(" ", 1)[0].lower()
    if scheme in ("basic", "bearer"):
        return scheme
    return "query_token" if "access_token" in query else "none"


class AuthService:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.tokens: dict[str, Token] = {}
        self.users: dict[str, tuple[str, Actor]] = {}
        for n, (name, password) in enumerate(config.users.items(), start=1):
            self.users[name] = (password, Actor(n, "Admin User" if n == 1 else name))
        self.client_actor = Actor(None, f"{config.client_name} [1]")

    # ---- API authentication --------------------------------------------------------------------------
    def authenticate(self, headers: Any, query: dict[str, Any], body: Any) -> Caller:
        if not self.config.api_enabled:
            raise AuthFailure(system_error(403, API_DISABLED, "api_disabled"), "unauth")
        header = headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._basic(credential.strip())
        token = credential.strip() if scheme == "bearer" else None
        if token is None:
            token = query.get("access_token") or (body.get("access_token") if isinstance(body, dict) else None)
        if token:
            return self._bearer(str(token))
        raise AuthFailure(system_error(401, NO_AUTH, "access_denied"), "unauth")

    def _basic(self, credential: str) -> Caller:
        if not self.config.basic_auth_enabled:
            raise AuthFailure(system_error(403, BASIC_DISABLED, "access_denied"), "unauth")
        denied = AuthFailure(system_error(401, INVALID_CREDENTIALS, "access_denied"), "unauth")
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise denied from None
        name, _, password = decoded.partition(":")
        entry = self.users.get(name)
        if entry is None:
            raise denied
        if not secrets.compare_digest(entry[0], password):
            raise AuthFailure(denied.response, "basic")
        return Caller(entry[1], "basic", "basic")

    def _bearer(self, token: str) -> Caller:
        record = self.tokens.get(token)
        if record is None:
            raise AuthFailure(system_error(401, TOKEN_INVALID, "invalid_grant"), "unauth")
        if record.expires_at <= time.time():
            raise AuthFailure(system_error(401, TOKEN_EXPIRED, "invalid_grant"), "unauth")
        return Caller(self.client_actor, "bearer", f"token:{token}")

    # ---- token endpoint ------------------------------------------------------------------------------
    def issue(self, client_id: str, lifetime: float | None = None) -> str:
        """Mint a token; `lifetime` overrides the configured one (tests use it to make expired tokens)."""
        raw = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        token = base64.b64encode(raw.encode()).decode().rstrip("=")
        life = self.config.token_lifetime if lifetime is None else lifetime
        self.tokens[token] = Token(client_id, time.time() + life)
        return token

    def token_response(self, headers: Any, params: dict[str, Any]) -> Response:
        """POST|GET /oauth/v2/token for the client_credentials grant."""
        if not self.config.api_enabled:
            return system_error(403, API_DISABLED, "api_disabled")
        client_id, secret = params.get("client_id"), params.get("client_secret")
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and client_id is None:
            try:
                client_id, _, secret = base64.b64decode(credential.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        grant = params.get("grant_type")
        if not grant:
            return _oauth_error("Invalid grant_type parameter or parameter missing", "invalid_request")
        known = self.config.clients.get(str(client_id)) if client_id is not None else None
        if known is None or not secrets.compare_digest(known, str(secret or "")):
            return _oauth_error("The client credentials are invalid", "invalid_client")
        if grant != "client_credentials":
            return _oauth_error("The grant type is unauthorized for this client_id", "unauthorized_client")
        token = self.issue(str(client_id))
        body = {
            "access_token": token,
            "expires_in": int(self.config.token_lifetime),
            "token_type": "bearer",
            "scope": None,
        }
        return bare_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth_error(message: str, type_: str) -> Response:
    return system_error(400, message, type_)
