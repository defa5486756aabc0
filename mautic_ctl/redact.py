"""Configured secrets never leave the process in a message: not on stderr, not in the queue file.

A server (or a proxy in front of it) may echo what it was sent — a client secret in an error text, a
Basic credential in a reflected header — and that text ends up in `last_error`, the error history,
the audit table and on the terminal. Every configured secret is remembered when the configuration is
loaded (``config.load``, ``settings.Settings``), and every message is passed through ``redact`` where
it is printed (``cli.output``) or stored (``store``). Pure text work, no imports: the record path uses it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_LENGTH = 4
"""Shorter values are not masked: masking a 1-character "secret" would garble every message (and such a
secret protects nothing). Real client secrets, passwords and tokens are far longer."""

_forms: list[str] = []


def remember(secrets: Iterable[str], basic: tuple[str, str] | None = None) -> None:
    """Add ``secrets`` (and the forms they travel in: URL-quoted, a Basic credential) to the masked set."""
    found = set(_forms)
    for secret in secrets:
        if len(secret) >= MIN_LENGTH:
            found |= {secret, quote(secret, safe=""), quote_plus(secret)}
    if basic is not None and basic[1] and len(basic[1]) >= MIN_LENGTH:
        found.add(base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode())
    _forms[:] = sorted(found, key=len, reverse=True)  # longest first: a secret inside another is masked whole


def forget() -> None:
    """Drop every remembered secret (tests that load several configurations in one process)."""
    _forms.clear()


def redact(text: str) -> str:
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
