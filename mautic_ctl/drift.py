"""Pure: what a user's contact should hold (from the product's view of the user) against what Mautic
holds, as a list of differences — and the ordinary queue event that repairs them.

Campaign entries are not state: entering one sends its mails, so a missing entry is reported, never
repaired; it does not count as drift.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mautic_ctl.errors import InputError
from mautic_ctl.events import (
    CANCELLED,
    Event,
    EventKind,
    FieldValue,
    Vocabulary,
    check_field,
    iter_json_records,
    validate_email,
    validate_tier,
    validate_user_id,
)
from mautic_ctl.rules import (
    RECONCILE_SOURCE,
    STATUS_ACTIVE,
    STATUS_CANCELLED,
    WELCOME,
    WINBACK,
    Policy,
    UserState,
    desired_segments,
    onboarding,
)

SOURCE = RECONCILE_SOURCE


@dataclass(frozen=True, slots=True)
class Desired:
    """Who the user is according to the product (its export) or, without one, to the mirror."""

    user_id: str
    email: str
    tier: str
    status: str = STATUS_ACTIVE
    fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @property
    def cancelled(self) -> bool:
        return self.status == STATUS_CANCELLED


@dataclass(frozen=True, slots=True)
class Difference:
    what: str  # "contact", "field:<alias>", "segment:<key>", "owner"
    has: str
    should: str


@dataclass(frozen=True, slots=True)
class UserDrift:
    user_id: str
    email: str
    contact_id: int | None
    differences: tuple[Difference, ...]
    missing_entries: tuple[str, ...] = ()  # campaigns the user would have entered but is not in (report only)

    @property
    def drifted(self) -> bool:
        return bool(self.differences)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def compare(
    want: Desired,
    live: UserState | None,
    live_fields: Mapping[str, Any],
    policy: Policy,
    *,
    shared_with: Iterable[str] = (),
    mirror_contact_id: int | None = None,
) -> UserDrift:
    """The differences between what ``want`` says and what Mautic holds (``live`` None: no contact)."""
    if live is None or live.contact_id is None:
        diff = (Difference("contact", "(none)" if mirror_contact_id is None else f"#{mirror_contact_id} deleted",
                           "exists"),)  # fmt: skip
        return UserDrift(want.user_id, want.email, None, diff)
    f = policy.fields
    out: list[Difference] = []
    others = sorted(shared_with)
    if others:
        out.append(Difference("owner", f"shared with {', '.join(others)}", f"{want.user_id} only"))
    if mirror_contact_id is not None and mirror_contact_id != live.contact_id:
        out.append(Difference("contact", f"#{mirror_contact_id} (merged or re-created)", f"#{live.contact_id}"))
    expected: dict[str, Any] = {f.tier: want.tier, f.status: want.status, **want.fields}
    for alias, value in expected.items():
        has = live_fields.get(alias)
        if _text(has).strip().casefold() != _text(value).strip().casefold():
            out.append(Difference(f"field:{alias}", _text(has), _text(value)))
    wanted = desired_segments(want.tier, want.cancelled, policy)
    managed = policy.managed_segments()
    for seg in sorted(managed):
        if (seg in live.segments) != (seg in wanted):
            member, other = ("member", "not a member") if seg in live.segments else ("not a member", "member")
            out.append(Difference(f"segment:{seg}", member, other))
    return UserDrift(want.user_id, want.email, live.contact_id, tuple(out), missing_entries(want, live, policy))


def missing_entries(want: Desired, live: UserState, policy: Policy) -> tuple[str, ...]:
    """Campaigns the user's lifecycle enters that the contact is not an active member of."""
    expected = [WELCOME]
    if want.tier != policy.tiers[0]:
        expected.append(onboarding(want.tier))
    if want.cancelled:
        expected.append(WINBACK)
    return tuple(c for c in expected if c in policy.campaigns and c not in live.campaigns)


def correction(want: Desired, at: datetime, run_id: str) -> Event:
    """The ordinary plan change that brings the contact to ``want`` (source ``reconcile``: the rules
    enter and leave no campaign for it)."""
    fields = dict(want.fields)
    if want.status not in (STATUS_ACTIVE, STATUS_CANCELLED):
        fields["subscription_status"] = want.status
    return Event(
        EventKind.PLAN_CHANGE,
        want.user_id,
        f"reconcile-{run_id}-{want.user_id}",
        at,
        source=SOURCE,
        email=want.email,
        tier=CANCELLED if want.cancelled else want.tier,
        fields=fields,
    )


def parse_export(raw: bytes, vocab: Vocabulary, cancel_tier: str) -> list[Desired]:
    """The product's own view of its users: JSONL (one object per line) or CSV with a header
    ``user_id,email,tier,status[,…fields]``. One bad row refuses the whole input (InputError)."""
    text = raw.decode("utf-8-sig", errors="replace")
    rows: list[tuple[str, dict[str, Any]]] = []
    if text.lstrip().startswith(("{", "[")):
        for position, record in iter_json_records(text):
            if not isinstance(record, dict):
                raise InputError(f"record {position}: each user must be a JSON object.")
            rows.append((f"record {position}", record))
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("user_id", "email", "tier") if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(
                f"the CSV header lacks {', '.join(missing)}; expected user_id,email,tier,status[,…fields]."
            )
        rows = [(f"line {n}", {k: v for k, v in row.items() if k is not None}) for n, row in enumerate(reader, 2)]
    out: list[Desired] = []
    seen: set[str] = set()
    for where, row in rows:
        try:
            out.append(_desired(row, vocab, cancel_tier))
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}") from None
        if out[-1].user_id in seen:
            raise InputError(f"{where}: user {out[-1].user_id!r} appears twice.")
        seen.add(out[-1].user_id)
    return out


def _desired(row: Mapping[str, Any], vocab: Vocabulary, cancel_tier: str) -> Desired:
    user_id = validate_user_id(row.get("user_id"))
    email = validate_email(row.get("email"))
    tier = validate_tier(row.get("tier"), vocab.tiers, allow_cancelled=True)
    status = str(row.get("status") or STATUS_ACTIVE).strip().lower()
    if tier == CANCELLED:
        tier, status = cancel_tier, STATUS_CANCELLED
    elif status == STATUS_CANCELLED:
        tier = cancel_tier
    fields: dict[str, FieldValue] = {}
    for alias, raw in row.items():
        if alias in ("user_id", "email", "tier", "status") or raw in (None, ""):
            continue
        key, value = check_field(str(alias), raw, vocab.fields)
        fields[key] = value
    return Desired(user_id, email, tier, status, fields)
