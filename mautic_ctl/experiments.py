"""Campaign experiments: which arm of an experiment a user gets, and what that does to the rules' plan.

Pure: no HTTP, no SQL, no clock. An experiment takes over one campaign *slot* of the lifecycle rules
(``welcome``, ``onboarding:pro``, ``retention``, ``winback``): when the rules enter a user into that
slot, the user's arm decides which campaign it really is — or none at all, for the holdout.

Assignment is a stable hash of (experiment name, user id) mapped onto the arms' weights, so every
process, every replay and every host computes the same arm. Once made, an assignment is stored and
the stored one wins: editing the weights later moves nobody who already has an arm.

The rules themselves are not touched. They plan against a *view* of the user in which each arm's
campaign reads as its slot, and their operations are then mapped onto the arm (``apply``). So the
rules stay the one place that decides *when* a slot is entered or left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from mautic_ctl.events import Event, FieldValue
from mautic_ctl.rules import Op, OpKind, Plan, Policy, UserState, plan

HOLDOUT = "none"
"""The campaign of a holdout arm: its users enter no campaign for the slot."""

ARM_PREFIX = "exp:"


def bucket(experiment: str, user_id: str) -> float:
    """A number in [0, 1) fixed by (experiment, user id): the same on every machine and every run.

    SHA-256 rather than ``hash()``: Python salts ``hash()`` per process.
    """
    digest = hashlib.sha256(f"{experiment}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(weights: Sequence[float], u: float) -> int:
    """The index whose share of the cumulative weights holds ``u``."""
    total = sum(weights)
    edge = 0.0
    for index, weight in enumerate(weights):
        edge += weight / total
        if u < edge:
            return index
    return len(weights) - 1  # float rounding at the very top


@dataclass(frozen=True, slots=True)
class Arm:
    name: str  # what the contact field holds, e.g. "B" or "holdout"
    campaign: int | str | None  # a Mautic campaign id or name; None: holdout (no campaign)
    weight: float = 1.0

    @property
    def holdout(self) -> bool:
        return self.campaign is None


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    slot: str  # the rules' campaign key it takes over: welcome, onboarding:pro, retention, winback
    arms: tuple[Arm, ...]
    field: str  # contact field alias that receives the arm's name
    active: bool = True  # False: nobody new is assigned; assigned users keep their arm

    def assign(self, user_id: str) -> str:
        """The arm a user who has none yet gets (deterministic)."""
        return self.arms[pick([a.weight for a in self.arms], bucket(self.name, user_id))].name

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)

    def campaign_key(self, arm: str) -> str | None:
        """The logical campaign key of an arm (resolved to a Mautic id like any campaign); None: holdout."""
        found = self.arm(arm)
        if found is None or found.holdout:
            return None
        return arm_key(self.name, arm)

    @property
    def holdout(self) -> Arm | None:
        return next((a for a in self.arms if a.holdout), None)


def arm_key(experiment: str, arm: str) -> str:
    return f"{ARM_PREFIX}{experiment}:{arm}"


@dataclass(frozen=True, slots=True)
class Entry:
    """A campaign slot an event entered its user into: the campaign (None: held out) and the arm."""

    slot: str
    campaign: str | None
    experiment: str | None = None
    arm: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"slot": self.slot, "campaign": self.campaign, "experiment": self.experiment, "arm": self.arm}


@dataclass(frozen=True, slots=True)
class Book:
    """Every configured experiment, and which slots also have a default (non-experiment) campaign."""

    experiments: tuple[Experiment, ...] = ()
    defaults: frozenset[str] = frozenset()
    _by_slot: dict[str, Experiment] = field(default_factory=dict, compare=False, repr=False)
    _slot_of: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for exp in self.experiments:
            self._by_slot[exp.slot] = exp
            for arm in exp.arms:
                if not arm.holdout:
                    self._slot_of[arm_key(exp.name, arm.name)] = exp.slot

    def for_slot(self, slot: str) -> Experiment | None:
        return self._by_slot.get(slot)

    def slot_of(self, campaign_key: str) -> str:
        """The slot a campaign key fills (an arm's key -> its slot; any other key is its own slot)."""
        return self._slot_of.get(campaign_key, campaign_key)

    def rules_view(self, state: UserState) -> UserState:
        """The user as the rules must see it: in an arm's campaign means in the slot."""
        if not self._slot_of or not state.campaigns:
            return state
        return replace(state, campaigns=frozenset(self.slot_of(c) for c in state.campaigns))

    def as_entered(self, state: UserState, assigned: Mapping[str, str]) -> UserState:
        """The user as a check of campaign entries must see it: in an arm's campaign means in the slot,
        and a slot the user is held out of counts as entered (the holdout is that slot's outcome)."""
        view = self.rules_view(state)
        held = {
            exp.slot
            for exp in self.experiments
            if (arm := assigned.get(exp.name)) is not None
            and exp.arm(arm) is not None
            and exp.campaign_key(arm) is None
        }
        return replace(view, campaigns=view.campaigns | held) if held else view

    def apply(
        self, p: Plan, state: UserState, user_id: str, assigned: Mapping[str, str]
    ) -> tuple[Plan, tuple[Entry, ...]]:
        """Map a plan made on ``rules_view(state)`` onto the user's arms.

        ``assigned``: experiment name -> arm already stored for this user (it wins over the hash).
        Returns the plan to apply and the slots it enters, with the arm of each experiment slot.
        """
        ops: list[Op] = []
        entries: list[Entry] = []
        arms: dict[str, str] = dict(assigned)
        fields: dict[str, FieldValue] = {}
        for op in p.ops:
            exp = self.for_slot(op.target or "") if op.kind in (OpKind.CAMPAIGN_ADD, OpKind.CAMPAIGN_REMOVE) else None
            if exp is None:
                ops.append(op)
                if op.kind is OpKind.CAMPAIGN_ADD and op.target:
                    entries.append(Entry(self.slot_of(op.target), op.target))
                continue
            arm = arms.get(exp.name)
            if arm is None and op.kind is OpKind.CAMPAIGN_ADD and exp.active:
                arm = arms[exp.name] = exp.assign(user_id)
            if arm is None or exp.arm(arm) is None:  # no arm (stopped experiment, or one it no longer has)
                if exp.slot in self.defaults:
                    ops.append(op)
                    if op.kind is OpKind.CAMPAIGN_ADD:
                        entries.append(Entry(exp.slot, exp.slot))
                continue
            key = exp.campaign_key(arm)
            if op.kind is OpKind.CAMPAIGN_ADD:
                entries.append(Entry(exp.slot, key, exp.name, arm))
                fields[exp.field] = arm
                if key is not None and key not in state.campaigns:
                    ops.append(replace(op, target=key))
            elif key is not None:
                ops.append(replace(op, target=key, blind=op.blind and key not in state.campaigns))
        ops = _with_fields(ops, fields)
        after = replace(p.after, campaigns=self._map_campaigns(p.after.campaigns, arms))
        return Plan(p.transition, tuple(ops), after), tuple(entries)

    def _map_campaigns(self, campaigns: frozenset[str], arms: Mapping[str, str]) -> frozenset[str]:
        out = set()
        for key in campaigns:
            exp = self.for_slot(key)
            arm = arms.get(exp.name) if exp else None
            if exp is None or arm is None or exp.arm(arm) is None:
                out.add(key)
            elif (mapped := exp.campaign_key(arm)) is not None:
                out.add(mapped)
        return frozenset(out)


def _with_fields(ops: list[Op], fields: Mapping[str, FieldValue]) -> list[Op]:
    """Write the arm fields with the contact's own upsert or update, or in an update of their own."""
    if not fields:
        return ops
    for index, op in enumerate(ops):
        if op.kind in (OpKind.UPSERT, OpKind.UPDATE):
            ops[index] = replace(op, fields={**op.fields, **fields})
            return ops
    return [Op(OpKind.UPDATE, fields=dict(fields)), *ops]


def plan_event(
    event: Event, state: UserState, policy: Policy, book: Book | None, assigned: Mapping[str, str]
) -> tuple[Plan, tuple[Entry, ...]]:
    """The rules' plan for ``event``, with the user's experiment arms applied (no book: the plain plan)."""
    if book is None or not book.experiments:
        p = plan(event, state, policy)
        return p, tuple(Entry(op.target, op.target) for op in p.ops if op.kind is OpKind.CAMPAIGN_ADD and op.target)
    p = plan(event, book.rules_view(state), policy)
    return book.apply(p, state, event.user_id, assigned)


def arms_of(entries: Sequence[Entry]) -> dict[str, str]:
    """Experiment name -> arm, for the entries that belong to an experiment."""
    return {e.experiment: e.arm for e in entries if e.experiment and e.arm}
