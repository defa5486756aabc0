"""Pure lifecycle rules: from (event, what we last knew of the user, policy) to Mautic operations.

No HTTP, no SQL, no clock. Segments and campaigns are named by *logical keys* (``tier:pro``,
``churned``, ``welcome``, ``onboarding:pro`` …); settings resolve them to Mautic ids elsewhere.

The rules only add a contact to a campaign it is not already known to be in: in Mautic, re-adding
an active member of a restartable campaign restarts it and sends its mails again (fact sheet §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from mautic_ctl.errors import RuleError
from mautic_ctl.events import CANCELLED, MAX_MONEY, Event, EventKind, FieldValue

NEW_USERS = "new_users"
CHURNED = "churned"
WELCOME = "welcome"
RETENTION = "retention"
WINBACK = "winback"
STATUS_ACTIVE = "active"
STATUS_CANCELLED = "cancelled"
RECONCILE_SOURCE = "reconcile"  # corrections recorded by `reconcile --fix`: they never touch campaigns


def tier_segment(tier: str) -> str:
    return f"tier:{tier}"


def onboarding(tier: str) -> str:
    return f"onboarding:{tier}"


class OpKind(StrEnum):
    UPSERT = "upsert"  # create or update the contact by email (POST /contacts/new or batch/new)
    UPDATE = "update"  # PATCH known contact fields
    SEGMENT_ADD = "segment_add"
    SEGMENT_REMOVE = "segment_remove"
    CAMPAIGN_ADD = "campaign_add"
    CAMPAIGN_REMOVE = "campaign_remove"


@dataclass(frozen=True, slots=True)
class Op:
    kind: OpKind
    target: str | None = None  # logical segment/campaign key
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    blind: bool = False  # a leave for a stranger: pointless if the upsert just created the contact

    @property
    def key(self) -> str:
        """Stable name of this operation within its event, used to record it as done."""
        return f"{self.kind.value}:{self.target}" if self.target else self.kind.value


@dataclass(frozen=True, slots=True)
class FieldNames:
    """Aliases of the Mautic fields the rules write."""

    tier: str = "subscription_tier"
    status: str = "subscription_status"
    signup_date: str = "signup_date"
    lifetime_value: str = "lifetime_value"


@dataclass(frozen=True, slots=True)
class Policy:
    """The configured lifecycle: tier order and which segments and campaigns exist."""

    tiers: tuple[str, ...] = ("free", "pro", "enterprise")  # lowest first
    cancel_tier: str = "free"  # the tier a cancelled user falls back to
    segments: frozenset[str] = frozenset()  # configured logical segment keys
    campaigns: frozenset[str] = frozenset()  # configured logical campaign keys
    fields: FieldNames = FieldNames()

    def rank(self, tier: str) -> int:
        return self.tiers.index(tier)

    def managed_segments(self) -> frozenset[str]:
        """Segments whose membership the tier/status decides (New Users is only ever joined)."""
        return frozenset({CHURNED, *(tier_segment(t) for t in self.tiers)}) & self.segments


@dataclass(frozen=True, slots=True)
class UserState:
    """What mautic-ctl last applied for a user (its mirror); ``known`` is False for a stranger."""

    known: bool = False
    contact_id: int | None = None
    email: str | None = None
    tier: str | None = None
    status: str | None = None
    segments: frozenset[str] = frozenset()
    campaigns: frozenset[str] = frozenset()
    lifetime_value: float = 0.0


class Transition(StrEnum):
    SIGNUP = "signup"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    UNCHANGED = "unchanged"
    SYNC = "sync"
    PAYMENT = "payment"


@dataclass(frozen=True, slots=True)
class Plan:
    transition: Transition
    ops: tuple[Op, ...]
    after: UserState


def classify(event: Event, state: UserState, policy: Policy) -> Transition:
    """Name the transition an event makes for this user."""
    if event.kind is EventKind.SIGNUP:
        return Transition.SIGNUP
    if event.kind is EventKind.SYNC_CONTACT:
        return Transition.SYNC
    if event.kind is EventKind.PAYMENT:
        return Transition.PAYMENT
    target = event.tier
    assert target is not None
    was_cancelled = state.status == STATUS_CANCELLED if state.known else event.from_tier == CANCELLED
    if target == CANCELLED:
        return Transition.UNCHANGED if was_cancelled else Transition.CANCEL
    if was_cancelled:
        return Transition.REACTIVATE
    current = state.tier if state.known and state.tier else event.from_tier or policy.tiers[0]
    if current == CANCELLED or current not in policy.tiers:
        current = policy.tiers[0]
    if policy.rank(target) > policy.rank(current):
        return Transition.UPGRADE
    if policy.rank(target) < policy.rank(current):
        return Transition.DOWNGRADE
    return Transition.UNCHANGED


def desired_segments(tier: str, cancelled: bool, policy: Policy) -> frozenset[str]:
    wanted = {tier_segment(tier)} | ({CHURNED} if cancelled else set())
    return frozenset(wanted) & policy.segments


def plan(event: Event, state: UserState, policy: Policy) -> Plan:
    """The operations that take the user from ``state`` to what ``event`` says, and the state after."""
    transition = classify(event, state, policy)
    f = policy.fields
    fields: dict[str, FieldValue] = dict(event.fields)
    new_tier, new_status = state.tier, state.status
    joins: list[str] = []
    enter: list[str] = []
    leave_campaigns: list[str] = []

    if transition is Transition.SIGNUP:
        new_tier, new_status = event.tier, STATUS_ACTIVE
        if not state.known:  # a repeated signup keeps the first signup date
            fields |= {f.signup_date: event.occurred_at.date().isoformat()}
        joins.append(NEW_USERS)
        enter.append(WELCOME)
        if event.tier != policy.tiers[0]:
            enter.append(onboarding(event.tier or ""))
    elif transition is Transition.CANCEL:
        new_tier, new_status = policy.cancel_tier, STATUS_CANCELLED
        enter.append(WINBACK)
    elif transition is Transition.REACTIVATE:
        new_tier, new_status = event.tier, STATUS_ACTIVE
        leave_campaigns.append(WINBACK)
        if event.tier != policy.tiers[0]:
            enter.append(onboarding(event.tier or ""))
    elif transition is Transition.UPGRADE:
        new_tier, new_status = event.tier, STATUS_ACTIVE
        enter.append(onboarding(event.tier or ""))
    elif transition is Transition.DOWNGRADE:
        new_tier, new_status = event.tier, STATUS_ACTIVE
        enter.append(RETENTION)
    elif transition is Transition.UNCHANGED and event.tier != CANCELLED:
        new_tier = event.tier
        new_status = STATUS_ACTIVE if not state.known else state.status or STATUS_ACTIVE
    elif transition is Transition.PAYMENT:
        total = round(state.lifetime_value + (event.amount or 0.0), 2)
        if total > MAX_MONEY:
            raise RuleError(
                f"lifetime_value would pass {MAX_MONEY:.0f}, beyond what a Mautic number field keeps to the cent."
            )
        if event.amount:
            fields[f.lifetime_value] = int(total) if float(total).is_integer() else total

    carried = event.fields.get(f.status)
    if carried is not None and transition not in (Transition.CANCEL, Transition.SYNC, Transition.PAYMENT):
        new_status = str(carried)  # e.g. a billing event: a plan change while past_due, a trial signup
    if transition not in (Transition.SYNC, Transition.PAYMENT):
        # Write tier and status only when they change, so a replayed event costs no call at all.
        # A contact being (re)created gets them all the same.
        fresh = not state.known or state.contact_id is None
        if new_tier is not None and (new_tier != state.tier or fresh):
            fields[f.tier] = new_tier
        if new_status is not None and (new_status != state.status or fresh):
            fields[f.status] = new_status
    elif f.status in fields:
        new_status = str(fields[f.status])

    email = event.email or state.email
    for name, value in (("firstname", event.first_name), ("lastname", event.last_name)):
        if value:
            fields[name] = value
    if event.email and event.email != state.email:
        fields["email"] = event.email

    ops: list[Op] = []
    if state.contact_id is None:
        if not email:
            raise RuleError(
                f"user {event.user_id!r} has no Mautic contact yet and no email is known; "
                "record the signup first or pass --email"
            )
        ops.append(Op(OpKind.UPSERT, fields={**fields, "email": email}))
    elif fields:
        ops.append(Op(OpKind.UPDATE, fields=fields))

    segments = set(state.segments)
    if new_tier is not None and transition is not Transition.SYNC and transition is not Transition.PAYMENT:
        wanted = desired_segments(new_tier, new_status == STATUS_CANCELLED, policy)
        # A stranger's memberships are unknown: leave every managed segment blindly (a no-op in Mautic
        # for a non-member). A known user's memberships are what we applied: leave only those.
        leavable = policy.managed_segments() if not state.known else state.segments & policy.managed_segments()
        for seg in sorted(leavable - wanted):
            ops.append(Op(OpKind.SEGMENT_REMOVE, seg, blind=not state.known))
            segments.discard(seg)
        joins.extend(sorted(wanted))
    for seg in joins:
        if seg in policy.segments and seg not in state.segments:
            ops.append(Op(OpKind.SEGMENT_ADD, seg))
            segments.add(seg)

    campaigns = set(state.campaigns)
    if event.source == RECONCILE_SOURCE:  # a correction repairs state; an entry would send mails again
        enter, leave_campaigns = [], []
    for camp in leave_campaigns:
        if camp in policy.campaigns and (camp in campaigns or not state.known):
            ops.append(Op(OpKind.CAMPAIGN_REMOVE, camp, blind=camp not in campaigns))
            campaigns.discard(camp)
    for camp in enter:
        if camp in policy.campaigns and camp not in campaigns:
            ops.append(Op(OpKind.CAMPAIGN_ADD, camp))
            campaigns.add(camp)

    after = replace(
        state,
        known=True,
        email=email,
        tier=new_tier,
        status=new_status,
        segments=frozenset(segments),
        campaigns=frozenset(campaigns),
        lifetime_value=round(state.lifetime_value + (event.amount or 0.0), 2)
        if transition is Transition.PAYMENT
        else state.lifetime_value,
    )
    return Plan(transition, tuple(ops), after)
