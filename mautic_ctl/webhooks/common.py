"""Helpers both normalisers share: defensive reads of untrusted JSON, and building the outcome.

A verified payload is still untrusted in shape (a provider changes its API, a test tool sends
junk), so every read here tolerates any JSON value and returns None or an empty container instead
of raising. Once the delivery id is known, a bad value never raises either: it becomes a ``dead``
outcome with the reason, because a delivery that is rejected is retried and then lost, while a dead
one waits for an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mautic_ctl.errors import InputError
from mautic_ctl.events import (
    CANCELLED,
    EventKind,
    Vocabulary,
    build_event,
    parse_datetime,
    validate_email,
    validate_name,
)
from mautic_ctl.webhooks.model import STATUS_FIELD, Normalised
from mautic_ctl.webhooks.state import BillingState

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,254}$")
_STATUS_RE = re.compile(r"^[a-z][a-z_]{0,31}$")


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_id(value: object) -> str | None:
    """A provider id or user id as text (LemonSqueezy ids are numbers), or None if unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _ID_RE.match(value.strip()):
        return value.strip()
    return None


def as_int(value: object) -> int | None:
    """An integer such as an amount in cents; None for anything else, or too large to be real."""
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        value = int(value.strip()) if len(value) < 20 else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if abs(value) < 10**15 else None


def as_status(value: object) -> str | None:
    if isinstance(value, str) and _STATUS_RE.match(value.strip().lower()):
        return value.strip().lower()
    return None


def as_email(value: object) -> str | None:
    """The email if Mautic would accept it, else None (an unusable email is treated as absent)."""
    if value is None:
        return None
    try:
        return validate_email(value)
    except InputError:
        return None


def as_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except (InputError, OverflowError, ValueError, OSError):
        return None


def split_name(value: object) -> tuple[str | None, str | None]:
    """First and last name from one full name ("Ada Lovelace"); an unusable name is dropped, never fatal."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    first, _, last = value.strip().partition(" ")
    try:
        return validate_name(first, "first name"), validate_name(last.strip() or None, "last name")
    except InputError:
        return None, None


def usable_tier(tier: str | None, vocab: Vocabulary) -> str | None:
    """A tier the event validator accepts as ``from_tier``; anything else becomes "unknown"."""
    return tier if tier is not None and (tier in vocab.tiers or tier == CANCELLED) else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """Builds the Normalised results of one delivery, all sharing its id, type and time."""

    provider: str
    delivery_id: str
    event_type: str
    occurred_at: datetime
    vocab: Vocabulary
    now: datetime

    def ignore(self, reason: str) -> Normalised:
        return Normalised(
            self.provider, self.delivery_id, self.event_type, ignored=reason, occurred_at=self.occurred_at
        )

    def bury(self, reason: str) -> Normalised:
        return Normalised(self.provider, self.delivery_id, self.event_type, dead=reason, occurred_at=self.occurred_at)

    def wait(self, reason: str) -> Normalised:
        return Normalised(
            self.provider, self.delivery_id, self.event_type, waiting=reason, occurred_at=self.occurred_at
        )

    def learn(self, reason: str) -> Normalised:
        """Ignored as a lifecycle event, but it taught a link: waiting deliveries are worth re-reading."""
        return Normalised(
            self.provider, self.delivery_id, self.event_type, ignored=reason, occurred_at=self.occurred_at, learned=True
        )

    def supersede(self, reason: str, by: str | None) -> Normalised:
        return Normalised(
            self.provider, self.delivery_id, self.event_type, superseded=reason, superseded_by=by,
            occurred_at=self.occurred_at,
        )  # fmt: skip

    def test_mode(self, what: str) -> Normalised:
        return self.ignore(
            f"a test-mode event ({what}): it changes no contact. Set [billing] accept_test_mode = true "
            "to let test events through (for a staging Mautic)."
        )

    def status_fields(self, status: str | None) -> dict[str, str]:
        """``{"subscription_status": status}`` when that field is configured and the status known."""
        return {STATUS_FIELD: status} if status and STATUS_FIELD in self.vocab.fields else {}

    def emit(self, kind: EventKind, *, event_id: str | None = None, **values: Any) -> Normalised:
        """A validated event with the delivery's id (or ``event_id``), source and time; invalid values
        make it dead."""
        try:
            event = build_event(
                kind,
                self.vocab,
                now=self.now,
                event_id=event_id or self.delivery_id,
                occurred_at=self.occurred_at,
                source=self.provider,
                future_tolerance=None,  # the provider's signed clock, not the product's
                **values,
            )
        except InputError as exc:
            return self.bury(f"{self.event_type} does not make a valid {kind.value} event: {exc.message}")
        return Normalised(self.provider, self.delivery_id, self.event_type, event=event, occurred_at=self.occurred_at)

    def sync_status(self, user_id: str, status: str, email: str | None) -> Normalised:
        fields = self.status_fields(status)
        if not fields:
            return self.ignore(
                f"subscription status became {status!r}, but the {STATUS_FIELD} field is not configured."
            )
        return self.emit(EventKind.SYNC_CONTACT, user_id=user_id, email=email, fields=fields)

    def enter_tier(
        self,
        state: BillingState,
        *,
        user_id: str,
        tier: str,
        status: str | None,
        email: str | None,
        names: tuple[str | None, str | None] = (None, None),
    ) -> Normalised:
        """A new subscription in ``tier``: a signup for a user our mirror has never seen (when an
        email is known to create the contact with), otherwise a plan change from their known tier."""
        known = state.known_tier(user_id)
        fields = self.status_fields(status)
        if known is None and email is not None:
            first, last = names
            return self.emit(
                EventKind.SIGNUP,
                user_id=user_id,
                email=email,
                tier=tier,
                first_name=first,
                last_name=last,
                fields=fields,
            )
        return self.change_plan(user_id=user_id, tier=tier, from_tier=known, status=status, email=email)

    def change_plan(
        self, *, user_id: str, tier: str, from_tier: str | None, status: str | None, email: str | None
    ) -> Normalised:
        """A plan change; upgrade, downgrade, cancellation or reactivation is for the rules to decide."""
        return self.emit(
            EventKind.PLAN_CHANGE,
            user_id=user_id,
            email=email,
            tier=tier,
            from_tier=usable_tier(from_tier, self.vocab),
            fields=self.status_fields(status),
        )
