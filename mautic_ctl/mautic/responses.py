"""Mautic's answers, read defensively: errors mapped onto our exception tree, and response shapes.

Pure functions (no I/O) used by ``client.py``. Mautic's shapes vary (fact sheet §1, §3, §5.5): lists
are objects keyed by id or ``[]`` when empty, ``total`` may be a string, batch ``contacts``/``errors``
are arrays or objects keyed by request index with gaps, ``details`` is ``[]`` or an object, ``type``
may be missing. Messages name the method and path template, never a query string or a credential.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mautic_ctl.errors import (
    AuthError,
    MauticError,
    NotFound,
    NotMautic,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from mautic_ctl.mautic.auth import API_DISABLED_FIX, TOKEN_PATH

BATCH_LIMIT_MESSAGE = "entities are supported at a time"  # "A max of 200 entities are supported …"
UNPUBLISHED_HINT = "the segment is probably unpublished (Mautic refuses membership changes on it)"
_AUTH_ERROR_TYPES = {"access_denied", "api_disabled", "invalid_grant", "invalid_client"}
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # no byte reached Mautic


@dataclass(frozen=True)
class BatchItemResult:
    """The outcome of one input item of a batch call; ``index`` is its position in the input list."""

    index: int
    ok: bool
    status: int  # Mautic's per-item status code; 0 if Mautic reported nothing for the item
    contact_id: int | None
    created: bool
    error: MauticError | None = None


def transport_error(exc: httpx.HTTPError, where: str, idempotent: bool) -> TransientError:
    """No answer from Mautic. Only a failure before anything was sent is safe to repeat blindly.

    The message names host and port and what to check: a bare "ConnectError" tells nobody anything.
    """
    name = type(exc).__name__
    at = _host_port(exc)
    if isinstance(exc, httpx.ConnectError) and (reason := _tls_failure(exc)):  # nothing was sent
        return TransientError(
            f"{where}: Mautic's TLS certificate could not be verified at {at} ({reason}); fix the certificate "
            "(or, against a test server only, use --insecure)."
        )
    if isinstance(exc, httpx.ConnectError) and (reason := _tls_mismatch(exc)):
        return TransientError(
            f"{where}: no TLS handshake with {at} ({reason}): the server there does not speak https on that "
            "port; check the scheme and port of MAUTIC_BASE_URL (http:// for a plain server?)."
        )
    if not idempotent and not _nothing_sent(exc):
        return OutcomeUnknown(
            f"{where} got no answer from Mautic at {at} ({name}); it may have been applied, check before repeating."
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return TransientError(
            f"{where} could not connect to Mautic at {at} ({_reason(exc)}); is Mautic running there, "
            "and are the host and port in MAUTIC_BASE_URL right?"
        )
    return TransientError(f"{where} got no answer from Mautic at {at} ({name}); Mautic may be overloaded.")


def _host_port(exc: httpx.HTTPError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return "the configured URL"
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused", "Name or service not known"), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    found = type(exc).__name__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and (current.strerror or str(current)):
            found = current.strerror or str(current)
        current = current.__cause__ or current.__context__
    return found if found != "ConnectError" else (str(exc) or found)


def _tls_mismatch(exc: BaseException) -> str | None:
    """An https:// URL pointed at a plain-http port: OpenSSL reports a wrong version or record."""
    text = str(exc)
    for marker in ("WRONG_VERSION_NUMBER", "record layer failure", "UNEXPECTED_EOF", "packet length too long"):
        if marker in text:
            return marker
    return None


def api_root(response: httpx.Response) -> str:
    """The base URL the client is configured with, from a response's request URL (what comes before /api)."""
    url = response.request.url
    path = url.path
    for marker in ("/api/", "/oauth/"):
        if marker in path:
            path = path[: path.index(marker)]
            break
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{path}"


def not_mautic(response: httpx.Response, where: str) -> NotMautic:
    kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
    return NotMautic(
        f"this is not a Mautic API at {api_root(response)}: {where} answered HTTP {response.status_code} "
        f"({kind}); check MAUTIC_BASE_URL (Mautic's root URL, with any path prefix such as /mautic) and that "
        "the API is enabled in Mautic (Settings > Configuration > API Settings).",
        status=response.status_code,
    )


def _tls_failure(exc: BaseException) -> str | None:
    """The certificate problem behind a connection failure (httpx keeps the ssl error in the chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        current = current.__cause__ or current.__context__
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else None


def _nothing_sent(exc: httpx.HTTPError) -> bool:
    if isinstance(exc, _NOT_SENT):
        return True
    try:  # a token fetch always comes before the API request (or after it was refused with 401)
        return exc.request.url.path.endswith(TOKEN_PATH)
    except RuntimeError:
        return False


def check(
    response: httpx.Response,
    where: str,
    idempotent: bool,
    hint: str | None,
    item_errors: bool,
    subject: Callable[[str], str] | None = None,
) -> tuple[int, Any]:
    """Map one Mautic answer to (status, body) or to an exception of the errors.py tree.

    ``subject(message)`` names the object a 404 is about ("segment #42"), from Mautic's message.
    """
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if isinstance(body, dict) and body.get("errors") and not item_errors:
            raise PermanentError(f"{where} answered HTTP {status} with errors: {_message(body)}", status=status)
        if body is None:
            raise not_mautic(response, where)
        return status, body
    text = f"{where} failed with HTTP {status}: {_message(body)}"
    if status == 429:
        reset_at = _reset_at(response.headers, datetime.now(UTC))
        raise RateLimited(f"{text} Retry after {reset_at.isoformat()}.", status=429, reset_at=reset_at)
    if status == 401:
        raise AuthError(text, status=status)
    if status == 403:
        if hint and _error_type(body) not in _AUTH_ERROR_TYPES:  # "You do not have access …" (§9.14)
            raise PermanentError(f"{text} ({hint}).", status=status)
        if _error_type(body) == "api_disabled":
            raise AuthError(f"{text} ({API_DISABLED_FIX}).", status=status)
        raise AuthError(text, status=status)
    if status == 404:
        if body is None or _message(body).startswith("Requested URL not found"):  # router, not entity
            raise not_mautic(response, where)
        if subject is not None:
            raise NotFound(f"{where} failed with HTTP 404: {subject(_message(body))} ({_message(body)})", status=404)
        raise NotFound(text, status=status)
    if (status >= 500 and BATCH_LIMIT_MESSAGE not in _message(body)) or status == 408:
        if not idempotent:
            raise OutcomeUnknown(f"{text} It may have been applied; check before repeating.", status=status)
        raise TransientError(text, status=status)
    if 300 <= status < 400:
        raise PermanentError(f"{where} was redirected (HTTP {status}): check the Mautic URL.", status=status)
    raise PermanentError(text, status=status)  # 400, 422, the batch-limit 500 (our bug), other 4xx


_KINDS = {"contacts": "contact", "segments": "segment", "campaigns": "campaign", "fields": "field"}


def subject_of(template: str, ids: Mapping[str, int], message: str) -> str:
    """Which object a 404 is about: "contact #7", "segment #42", or both when Mautic does not say.

    The membership routes check the contact first and say "Contact not found." (fact sheet, Not found);
    "Item was not found." on them means the segment or campaign, except for a campaign add, where
    Mautic gives that message for both.
    """
    parts = template.strip("/").split("/")  # api, segments, {id}, contact, {cid}, add
    kind = _KINDS.get(parts[1], "item")
    own = f"{kind} #{ids['id']}" if "id" in ids else kind
    if "cid" not in ids:
        return f"{own} does not exist in Mautic"
    contact = f"contact #{ids['cid']}"
    if message.startswith("Contact not found"):
        return f"{contact} does not exist in Mautic"
    if kind == "campaign" and template.endswith("/add"):
        return f"{own} or {contact} does not exist in Mautic"
    return f"{own} does not exist in Mautic"


def _error_list(body: Any) -> list[Any]:
    """``errors`` as a list: it may be an array or an object keyed by batch index (§3)."""
    if not isinstance(body, dict):
        return []
    errors = body.get("errors", body.get("error"))  # the docs still show a legacy {"error": {…}}
    if isinstance(errors, dict):
        return [errors] if "message" in errors else list(errors.values())
    return errors if isinstance(errors, list) else []


def _message(body: Any) -> str:
    """Mautic's own message(s); ``details``/``type``/``code`` are ignored (their shapes vary)."""
    messages: list[str] = []
    for error in _error_list(body):
        text = str(error.get("message") if isinstance(error, dict) else error or "").strip()
        if text and text not in messages:
            messages.append(text)
    return "; ".join(messages) or "no error message."


def _error_type(body: Any) -> str | None:
    errors = _error_list(body)
    return errors[0].get("type") if errors and isinstance(errors[0], dict) else None


def _reset_at(headers: httpx.Headers, now: datetime) -> datetime:
    """When a 429 ends: ``X-RateLimit-Reset`` (unix time), else ``Retry-After`` seconds, else +60 s."""
    try:
        return datetime.fromtimestamp(float(headers["X-RateLimit-Reset"]), UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        pass
    try:
        return now + timedelta(seconds=float(headers["Retry-After"]))
    except (KeyError, ValueError, OverflowError):
        return now + timedelta(seconds=60)


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def contact_id(value: Any) -> int | None:
    """A usable contact id: a positive integer (never a bool, "", None or 0)."""
    if isinstance(value, bool):
        return None
    number = as_int(value)
    return number if number is not None and number > 0 else None


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PermanentError(f"{where} answered with an unexpected body shape.")
    return value


def id_of(entity: Mapping[str, Any], where: str) -> int:
    entity_id = as_int(entity.get("id"))
    if entity_id is None:
        raise PermanentError(f"{where} answered without an id.")
    return entity_id


def entities(value: Any) -> dict[int, dict[str, Any]]:
    """A Mautic list: an object keyed by id, or ``[]``/``{}`` when empty (§1, O3)."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return {i: e for e in items if isinstance(e, dict) and (i := as_int(e.get("id"))) is not None}


def _by_index(value: Any) -> dict[int, Any]:
    """Batch ``contacts``/``errors``: an array, or an object keyed by request index with gaps (O4)."""
    if isinstance(value, list):
        return dict(enumerate(value))
    if isinstance(value, dict):
        return {i: v for k, v in value.items() if (i := as_int(k)) is not None}
    return {}


def batch_results(body: dict[str, Any], count: int, offset: int, where: str) -> list[BatchItemResult]:
    """Align a batch answer with its request: match by index, never by array position (§5.5)."""
    contacts, errors, codes = _by_index(body.get("contacts")), _by_index(body.get("errors")), None
    if isinstance(body.get("statusCodes"), list):
        codes = body["statusCodes"]
    elif not contacts:
        raise PermanentError(f"{where} answered without per-item results: {_message(body)}")
    results = []
    for i in range(count):
        error, entry = errors.get(i), contacts.get(i)
        status = as_int(codes[i]) if codes is not None and i < len(codes) else None
        if status is None:
            code = as_int(error.get("code")) if isinstance(error, dict) else None
            status = (code or 400) if error is not None else (200 if entry is not None else 0)
        ok = 200 <= status < 300 and error is None
        contact_id = as_int(entry.get("id")) if isinstance(entry, dict) else None
        failure: MauticError | None = None
        if not ok:
            reason = _message({"errors": [error]}) if error is not None else "no result for this item."
            cls = NotFound if status == 404 else PermanentError
            failure = cls(f"{where} item {offset + i} failed with HTTP {status}: {reason}", status=status)
        results.append(BatchItemResult(offset + i, ok, status, contact_id, ok and status == 201, failure))
    return results


def upsert_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    # None is ignored by Mautic anyway; overwriteWithBlank on POST /new nulls every unsent field (O19).
    return {k: v for k, v in fields.items() if v is not None and k != "overwriteWithBlank"}


def field_of(contact: Mapping[str, Any], alias: str) -> Any:
    """A field's value from ``fields.all``, else from any group (``fields.core.<alias>.value``)."""
    fields = contact.get("fields")
    fields = fields if isinstance(fields, dict) else {}
    flat = fields.get("all")
    if isinstance(flat, dict) and alias in flat:
        return flat[alias]
    for group in fields.values():
        if isinstance(group, dict) and isinstance(group.get(alias), dict):
            return group[alias].get("value")
    return None


def email_of(contact: Mapping[str, Any]) -> str | None:
    """The contact's email, normalised (stripped, case-folded as Mautic's collation compares)."""
    email = field_of(contact, "email")
    return str(email).strip().casefold() if email else None
