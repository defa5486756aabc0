"""Two streams of facts about a user: the product's (profile, signup) and billing's (the plan).

Their clocks do not agree: Stripe's ``created`` is whole seconds on Stripe's servers, the product's
``occurred_at`` is its own servers' time. So staleness is judged only within one stream (a billing
event is superseded only by a newer billing event, a product event by a newer product event), and
once billing has decided a user's plan, a product event keeps only its profile facts: a signup
recorded a second "after" a paid upgrade must not put the user back on the free tier.

Pure: the drain asks the store which event decided what, and these functions say what follows.
"""

from __future__ import annotations

from dataclasses import replace

from mautic_ctl.events import Event, EventKind
from mautic_ctl.rules import UserState

BILLING_SOURCES = frozenset({"stripe", "lemonsqueezy"})


def is_billing(event: Event) -> bool:
    return event.source in BILLING_SOURCES


def plan_facts_yield(event: Event, state: UserState, status_field: str) -> Event | None:
    """A product event for a user whose plan a billing event decided: the event with the current
    plan instead of its own; None when only plan facts were left (a product plan change)."""
    if is_billing(event) or state.tier is None:
        return event
    if event.kind is EventKind.PLAN_CHANGE:
        return None
    if event.kind is EventKind.SIGNUP:
        fields = dict(event.fields)
        if state.status is not None:
            fields[status_field] = state.status
        return replace(event, tier=state.tier, fields=fields)
    return event
