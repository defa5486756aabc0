"""Response helpers and the exceptions handlers raise, each rendered in Mautic's exact error format.

Two formats exist (O5): controller errors `{"code","message","details"}` carry the Mautic-Version header;
auth, OAuth and router errors `{"message","code","type"}` do not.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .config import MAUTIC_VERSION

GENERIC_500 = (
    "Looks like I encountered an error (error #500). If I do it again, please report me to the system administrator!"
)
NOT_FOUND = "Item was not found."
CONTACT_NOT_FOUND = "Contact not found."
ACCESS_DENIED = "You do not have access to the requested area/action."
BAD_REQUEST = "This is a bad request."


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def api_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A controller answer: JSON plus the Mautic-Version header."""
    all_headers = {"Mautic-Version": MAUTIC_VERSION}
    if headers:
        all_headers.update(headers)
    return Response(_dumps(data), status_code=status, media_type="application/json", headers=all_headers)


def bare_response(data: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """An answer from outside the controllers (auth, OAuth, router): no Mautic-Version header."""
    return Response(_dumps(data), status_code=status, media_type="application/json", headers=headers)


def controller_error(code: int, message: str, details: Any = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "details": [] if details is None else details}]}
    return api_response(body, code)


def system_error(code: int, message: str, type_: str | None) -> Response:
    return bare_response({"errors": [{"message": message, "code": code, "type": type_}]}, code)


def route_not_found(path: str) -> Response:
    return system_error(404, f"Requested URL not found: {path}", None)


class ApiError(Exception):
    """A controller error (`returnError`): 400/403/404/422, or the batch-limit 500."""

    def __init__(self, code: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> Response:
        return controller_error(self.code, self.message, self.details)

    def batch_item(self) -> dict[str, Any]:
        """The per-item entry of a batch `errors` map."""
        return {"code": self.code, "message": self.message, "details": self.details or [], "type": None}


class ValidationFailed(ApiError):
    """Form violations: message "alias: msg, alias2: msg", details keyed by form field."""

    def __init__(self, violations: list[tuple[str, str]], code: int = 400) -> None:
        details: dict[str, list[str]] = {}
        for name, msg in violations:
            details.setdefault(name, []).append(msg)
        message = ", ".join(f"{name}: {msg}" for name, msg in violations)
        super().__init__(code, message, details)


class ServerError(Exception):
    """An uncaught exception inside Mautic: the generic router-level 500 without Mautic-Version."""

    def response(self) -> Response:
        return system_error(500, GENERIC_500, None)


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def access_denied() -> ApiError:
    return ApiError(403, ACCESS_DENIED)
