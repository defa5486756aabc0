"""What happens to an event after a failed attempt: a pure decision, with time passed in.

Backoff is "full jitter" exponential (tenacity's ``wait_random_exponential``): attempt n waits a
uniformly random time in ``[0, min(cap, base * 2**(n-1))]``, so a crowd of failed events spreads out
instead of hammering a recovering Mautic in waves. A 429 waits for ``X-RateLimit-Reset`` without
counting as an attempt, but never longer than the backoff cap: a server (or a proxy) announcing a reset
in the year 5138 must not park the event, and every later event of its user, for ever. A permanent
error goes dead at once.

Two exceptions keep an event due instead of scheduling a backoff: a setup error (Mautic refuses our
credentials or URL — no attempt is counted and the drain halts, since every other event would fail
the same way until a person fixes the setting), and a failed *courtesy* attempt (the one a recording
command makes right after recording): cron's next `queue run` paces the retries, not a backoff that
`queue run` would then sit out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import tenacity

from mautic_ctl.errors import (
    AuthError,
    ContactGone,
    MauticSetupError,
    PermanentError,
    RateLimited,
    RuleError,
    TransientError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10
    base: float = 30.0  # seconds
    cap: float = 3600.0  # seconds

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        strategy = tenacity.wait_random_exponential(multiplier=self.base, max=self.cap)
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return float(strategy(state))


@dataclass(frozen=True, slots=True)
class Decision:
    """Retry at ``retry_at`` (unix time), or ``dead`` with ``reason``."""

    dead: bool
    reason: str
    retry_at: float | None = None
    counts_as_attempt: bool = True
    halt: bool = False  # stop claiming: every other event would fail the same way


def decide(exc: BaseException, attempts: int, now: float, policy: RetryPolicy, *, courtesy: bool = False) -> Decision:
    """``courtesy``: this was the attempt right after recording; a transient failure leaves it due."""
    reason = describe(exc)
    if isinstance(exc, MauticSetupError):
        return Decision(False, reason, now, counts_as_attempt=False, halt=True)
    if isinstance(exc, RateLimited):
        reset = exc.reset_at.timestamp() if isinstance(exc.reset_at, datetime) else now + 60
        return Decision(False, reason, min(max(reset, now + 1), now + policy.cap), counts_as_attempt=False)
    if isinstance(exc, PermanentError | RuleError):
        return Decision(True, reason)
    if isinstance(exc, ContactGone) and attempts < policy.max_attempts:
        return Decision(False, reason, now)  # not Mautic failing: try again at once, with a new contact
    if not isinstance(exc, TransientError | AuthError):
        reason = f"unexpected {type(exc).__name__}: {reason}"
    if attempts >= policy.max_attempts:
        return Decision(True, f"gave up after {attempts} attempts: {reason}")
    return Decision(False, reason, now if courtesy else now + policy.wait(attempts))


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."
