"""Pure lifecycle rules: from (event, what we last knew of the user, policy) to Mautic operations.

No HTTP, no SQL, no clock. Segments and campaigns are named by *logical keys* (``tier:pro``,
``churned``, ``welcome``, ``onboarding:pro`` …); settings resolve them to Mautic ids elsewhere.

The rules only add a contact to a campaign it is not already known to be in: in Mautic, re-adding
an active member of a restartable campaign restarts it and sends its mails again (fact sheet §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from mautic_ctl.errors import RuleError
from mautic_ctl.events import CANCELLED, CONSENT_KINDS, MAX_MONEY, Event, EventKind, FieldValue
from mautic_ctl.track import TrackRule, matching, track_key

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
    DNC_ADD = "dnc_add"  # POST /contacts/{id}/dnc/email/add (reason, comments in ``fields``)
    DNC_REMOVE = "dnc_remove"  # POST /contacts/{id}/dnc/email/remove
    POINTS = "points"  # POST /contacts/{id}/points/plus|minus/{delta}: no batch endpoint, not idempotent
    DELETE = "delete"  # DELETE /contacts/{id}/delete (``fields["email"]`` finds an unknown contact id)
    ANONYMISE = "anonymise"  # PATCH the personal fields blank (overwriteWithBlank)


@dataclass(frozen=True, slots=True)
class Op:
    kind: OpKind
    target: str | None = None  # logical segment/campaign key
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    blind: bool = False  # a leave for a stranger: pointless if the upsert just created the contact
    lookup: str | None = None  # delete / anonymise: the email to find a contact whose id mautic-ctl lacks

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
    last_login: str = "last_login"


DNC_CHANNEL = "email"
DNC_UNSUBSCRIBED = 1  # Mautic's reason code for "the contact unsubscribed" (fact sheet §5.7)
PERSONAL_FIELDS = (
    "title", "firstname", "lastname", "email", "mobile", "phone", "fax", "company", "position",
    "address1", "address2", "city", "state", "zipcode", "country", "website",
    "facebook", "foursquare", "instagram", "linkedin", "skype", "twitter",
)  # fmt: skip
"""Mautic's stock fields that hold personal data: what `on_delete = "anonymise"` blanks."""

ON_DELETE = ("delete", "anonymise")
ON_EMAIL_CONFLICT = ("dead", "skip")
STATE_KINDS = frozenset({EventKind.SIGNUP, EventKind.PLAN_CHANGE, EventKind.SYNC_CONTACT, EventKind.EMAIL_CHANGE})
"""Events that set the user's state: ordered by the stale-event guard, and they move its clock."""


@dataclass(frozen=True, slots=True)
class Policy:
    """The configured lifecycle: tier order and which segments and campaigns exist."""

    tiers: tuple[str, ...] = ("free", "pro", "enterprise")  # lowest first
    cancel_tier: str = "free"  # the tier a cancelled user falls back to
    segments: frozenset[str] = frozenset()  # configured logical segment keys
    campaigns: frozenset[str] = frozenset()  # configured logical campaign keys
    fields: FieldNames = FieldNames()
    on_delete: str = "delete"  # delete the contact, or "anonymise": blank its personal fields
    personal_fields: tuple[str, ...] = PERSONAL_FIELDS
    on_email_conflict: str = "dead"  # another contact has the new address: "dead" (both ids) or "skip"
    track: tuple[TrackRule, ...] = ()

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
    last_login: str | None = None  # as Mautic stores it (Y-m-d H:i:s, UTC)
    unsubscribed: bool | None = None  # the consent mautic-ctl last applied (None: never)
    consent_at: datetime | None = None  # when that consent event occurred (orders consent events)
    counts: Mapping[str, int] = field(default_factory=dict)  # product event name -> occurrences applied


class Transition(StrEnum):
    SIGNUP = "signup"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    UNCHANGED = "unchanged"
    SYNC = "sync"
    PAYMENT = "payment"
    LOGIN = "login"
    EMAIL_CHANGE = "email_change"
    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"
    DELETE = "delete"
    TRACK = "track"


_OWN_TRANSITION = {
    EventKind.SIGNUP: Transition.SIGNUP,
    EventKind.SYNC_CONTACT: Transition.SYNC,
    EventKind.PAYMENT: Transition.PAYMENT,
    EventKind.LOGIN: Transition.LOGIN,
    EventKind.EMAIL_CHANGE: Transition.EMAIL_CHANGE,
    EventKind.UNSUBSCRIBE: Transition.UNSUBSCRIBE,
    EventKind.RESUBSCRIBE: Transition.RESUBSCRIBE,
    EventKind.DELETE_USER: Transition.DELETE,
    EventKind.TRACK: Transition.TRACK,
}


@dataclass(frozen=True, slots=True)
class Plan:
    transition: Transition
    ops: tuple[Op, ...]
    after: UserState


def classify(event: Event, state: UserState, policy: Policy) -> Transition:
    """Name the transition an event makes for this user."""
    if event.kind in _OWN_TRANSITION:
        return _OWN_TRANSITION[event.kind]
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
    if transition in _LIFECYCLE_PLANNERS:
        return _LIFECYCLE_PLANNERS[transition](event, state, policy)
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


# --- the rest of the user lifecycle: logins, email changes, consent, deletion, product events ----


def stale(event: Event, state: UserState, last_event_at: datetime | None) -> bool:
    """Whether applying ``event`` now would overwrite something newer that was already applied.

    State events are ordered by the user's clock (``last_event_at``); a login only against the last
    login; consent events against the last consent event. Payments, product events and deletions are
    never stale: each one happened, whatever arrived before it.
    """
    if event.kind in STATE_KINDS:
        return last_event_at is not None and event.occurred_at < last_event_at
    if event.kind is EventKind.LOGIN:
        return state.last_login is not None and mautic_datetime(event.occurred_at) < state.last_login
    if event.kind in CONSENT_KINDS:
        return state.consent_at is not None and event.occurred_at < state.consent_at
    return False


def mautic_datetime(moment: datetime) -> str:
    """A UTC datetime as Mautic stores datetime fields (``Y-m-d H:i:s``)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def _contact_op(event: Event, state: UserState, fields: dict[str, FieldValue], email: str | None) -> list[Op]:
    """Create the contact by email when mautic-ctl has none, else PATCH ``fields`` (if any)."""
    if state.contact_id is None:
        if not email:
            raise RuleError(
                f"user {event.user_id!r} has no Mautic contact yet and no email is known; "
                "record the signup first or pass --email"
            )
        return [Op(OpKind.UPSERT, fields={**fields, "email": email})]
    return [Op(OpKind.UPDATE, fields=fields)] if fields else []


def _plan_login(event: Event, state: UserState, policy: Policy) -> Plan:
    at = mautic_datetime(event.occurred_at)
    email = state.email or event.email
    ops = _contact_op(event, state, {policy.fields.last_login: at}, email)
    return Plan(Transition.LOGIN, tuple(ops), replace(state, known=True, email=email, last_login=at))


def _plan_email_change(event: Event, state: UserState, policy: Policy) -> Plan:
    new = event.email
    assert new is not None
    if state.contact_id is None and state.email and state.email.casefold() != new.casefold():
        # Find (or re-create) the contact by the address Mautic knows, then change it: never a
        # second contact under the new address.
        ops = [Op(OpKind.UPSERT, fields={"email": state.email}), Op(OpKind.UPDATE, fields={"email": new})]
    elif new != state.email:
        ops = _contact_op(event, state, {"email": new}, new)
    else:
        ops = []
    return Plan(Transition.EMAIL_CHANGE, tuple(ops), replace(state, known=True, email=new))


def _plan_consent(event: Event, state: UserState, policy: Policy) -> Plan:
    """Always sent, even when the mirror says it is already so: consent has legal weight, and
    Mautic treats a repeat as a no-op (same reason: nothing changes; remove: ``recordFound`` false)."""
    unsubscribe = event.kind is EventKind.UNSUBSCRIBE
    email = state.email or event.email
    ops = _contact_op(event, state, {}, email)
    if unsubscribe:
        comment = event.comment or f"unsubscribed in the product (mautic-ctl event {event.event_id})"
        ops.append(Op(OpKind.DNC_ADD, DNC_CHANNEL, {"reason": DNC_UNSUBSCRIBED, "comments": comment}))
    else:
        ops.append(Op(OpKind.DNC_REMOVE, DNC_CHANNEL))
    transition = Transition.UNSUBSCRIBE if unsubscribe else Transition.RESUBSCRIBE
    after = replace(state, known=True, email=email, unsubscribed=unsubscribe, consent_at=event.occurred_at)
    return Plan(transition, tuple(ops), after)


def _plan_delete(event: Event, state: UserState, policy: Policy) -> Plan:
    """Delete (or anonymise) the contact; the drain then erases the user from the local store.

    Without a known contact id the op carries the email to look the contact up by; without either,
    Mautic has nothing of this user through mautic-ctl and only the local erasure remains.
    """
    email = state.email or event.email
    lookup = email if state.contact_id is None else None
    ops: list[Op] = []
    if state.contact_id is not None or email:
        if policy.on_delete == "anonymise":
            blanks: dict[str, FieldValue] = {alias: "" for alias in policy.personal_fields}
            ops.append(Op(OpKind.ANONYMISE, fields={**blanks, "overwriteWithBlank": True}, lookup=lookup))
        else:
            ops.append(Op(OpKind.DELETE, lookup=lookup))
    return Plan(Transition.DELETE, tuple(ops), UserState())


def _plan_track(event: Event, state: UserState, policy: Policy) -> Plan:
    """The mappings the event matches (counting it), merged into one set of operations."""
    name = event.name or ""
    occurrence = state.counts.get(name, 0) + 1
    rules = matching(policy.track, name, event.properties, occurrence)
    fields: dict[str, FieldValue] = {}
    tags: list[str] = []
    points = 0
    joins: list[str] = []
    leaves: list[str] = []
    enters: list[str] = []
    for rule in rules:
        fields |= rule.set_fields
        tags += [t for t in rule.add_tags if t not in tags] + [f"-{t}" for t in rule.remove_tags if f"-{t}" not in tags]
        points += rule.add_points
        joins += [track_key(r) for r in rule.join_segments]
        leaves += [track_key(r) for r in rule.leave_segments]
        if rule.enter_campaign is not None:
            enters.append(track_key(rule.enter_campaign))
    counts = {**state.counts, name: occurrence}
    after = replace(state, known=True, counts=counts)
    if not rules:
        return Plan(Transition.TRACK, (), after)  # recorded and counted, no call
    if tags:
        fields["tags"] = tags  # type: ignore[assignment]  # a list: Mautic's `tags` takes "-name" to remove
    ops = _contact_op(event, state, fields, state.email or event.email)
    segments, campaigns = set(state.segments), set(state.campaigns)
    for seg in dict.fromkeys(leaves):
        if seg not in joins:
            ops.append(Op(OpKind.SEGMENT_REMOVE, seg, blind=seg not in segments))
            segments.discard(seg)
    for seg in dict.fromkeys(joins):
        if seg not in segments:
            ops.append(Op(OpKind.SEGMENT_ADD, seg))
            segments.add(seg)
    for camp in dict.fromkeys(enters):
        if camp not in campaigns:  # once, as always: a re-add restarts a restartable campaign
            ops.append(Op(OpKind.CAMPAIGN_ADD, camp))
            campaigns.add(camp)
    if points:
        ops.append(Op(OpKind.POINTS, fields={"delta": points}))
    after = replace(after, segments=frozenset(segments), campaigns=frozenset(campaigns))
    return Plan(Transition.TRACK, tuple(ops), after)


_LIFECYCLE_PLANNERS = {
    Transition.LOGIN: _plan_login,
    Transition.EMAIL_CHANGE: _plan_email_change,
    Transition.UNSUBSCRIBE: _plan_consent,
    Transition.RESUBSCRIBE: _plan_consent,
    Transition.DELETE: _plan_delete,
    Transition.TRACK: _plan_track,
}
