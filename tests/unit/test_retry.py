"""The retry decision: an error's type decides retry-at-T or dead, with full-jitter backoff and time passed in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.errors import (
    AuthError,
    NotFound,
    NotMautic,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    RuleError,
    TransientError,
)
from mautic_ctl.retry import Decision, RetryPolicy, decide, describe

NOW = 1_800_000_000.0
POLICY = RetryPolicy(max_attempts=5, base=30.0, cap=600.0)
SAMPLES = 400


def test_rate_limit_waits_for_the_reset_and_is_not_an_attempt():
    """A 429 retries exactly at X-RateLimit-Reset (within the backoff cap) and does not count as an attempt."""
    reset = datetime.fromtimestamp(NOW + 234, tz=UTC)
    decision = decide(RateLimited("rate limit exhausted", reset_at=reset), 1, NOW, POLICY)
    assert decision == Decision(dead=False, reason="rate limit exhausted", retry_at=NOW + 234, counts_as_attempt=False)


def test_rate_limit_never_goes_dead_even_past_max_attempts():
    """Being rate limited is not a failure of the event: it is deferred however many attempts it had."""
    decision = decide(RateLimited(reset_at=datetime.fromtimestamp(NOW + 5, tz=UTC)), 99, NOW, POLICY)
    assert not decision.dead and decision.retry_at == NOW + 5 and not decision.counts_as_attempt


def test_rate_limit_without_or_with_a_past_reset_still_waits():
    """Without a reset time the event waits a minute; a reset in the past still waits one second."""
    assert decide(RateLimited(), 1, NOW, POLICY).retry_at == NOW + 60
    past = datetime.fromtimestamp(NOW - 100, tz=UTC)
    assert decide(RateLimited(reset_at=past), 1, NOW, POLICY).retry_at == NOW + 1


@pytest.mark.parametrize(
    "exc",
    [
        PermanentError("email: This field must be unique."),
        NotFound("segment 9 not found"),
        RuleError("no email to create the contact"),
    ],
)
def test_permanent_and_rule_errors_go_dead_at_once(exc):
    """A 4xx-type failure or a rule violation is dead on the first attempt, with its message as reason."""
    decision = decide(exc, 1, NOW, POLICY)
    assert decision == Decision(dead=True, reason=str(exc))


@pytest.mark.parametrize("exc", [AuthError("401 after the refresh"), NotMautic("this is not a Mautic API at …")])
def test_setup_errors_halt_and_leave_the_event_due_without_an_attempt(exc):
    """Wrong credentials or URL: no backoff, no attempt counted, never dead — and the drain halts."""
    for attempt in (1, POLICY.max_attempts, POLICY.max_attempts + 3):
        decision = decide(exc, attempt, NOW, POLICY)
        assert decision == Decision(False, str(exc), NOW, counts_as_attempt=False, halt=True)


def test_a_failed_courtesy_attempt_stays_due():
    """The attempt right after recording: a transient failure leaves the event due now (cron paces it);
    a permanent one still goes dead, a 429 still waits for its reset."""
    assert decide(TransientError("503"), 1, NOW, POLICY, courtesy=True) == Decision(False, "503", NOW)
    assert decide(PermanentError("400"), 1, NOW, POLICY, courtesy=True).dead
    reset = datetime.fromtimestamp(NOW + 120, UTC)
    assert decide(RateLimited("429", reset_at=reset), 1, NOW, POLICY, courtesy=True).retry_at == NOW + 120


@pytest.mark.parametrize("exc", [TransientError("503 from Mautic"), OutcomeUnknown("timeout")])
def test_transient_errors_retry_until_max_attempts_then_go_dead(exc):
    """Transient errors are retried for attempts 1..max-1 and dead at max, saying so."""
    for attempt in range(1, POLICY.max_attempts):
        decision = decide(exc, attempt, NOW, POLICY)
        assert not decision.dead and decision.counts_as_attempt and decision.reason == str(exc)
    last = decide(exc, POLICY.max_attempts, NOW, POLICY)
    assert last == Decision(dead=True, reason=f"gave up after 5 attempts: {exc}")


@pytest.mark.parametrize("attempt", range(1, 9))
def test_backoff_is_full_jitter_within_the_exponential_bound(attempt):
    """Retry n lands uniformly in [now, now + min(cap, base * 2**(n-1))]: all within, spread over the range."""
    policy = RetryPolicy(max_attempts=100, base=30.0, cap=600.0)
    bound = min(policy.cap, policy.base * 2 ** (attempt - 1))
    waits = [decide(TransientError("x"), attempt, NOW, policy).retry_at - NOW for _ in range(SAMPLES)]
    assert all(0 <= w <= bound for w in waits)
    # Full jitter, not "bound plus a little": samples reach both the low and the high quarter.
    assert min(waits) < 0.25 * bound and max(waits) > 0.75 * bound
    assert len(set(waits)) > SAMPLES // 2


def test_backoff_is_capped_for_huge_attempt_numbers():
    """A very high attempt number never overflows and never waits more than the cap."""
    policy = RetryPolicy(max_attempts=10_000, base=30.0, cap=600.0)
    waits = [policy.wait(5000) for _ in range(SAMPLES)]
    assert all(0 <= w <= 600.0 for w in waits) and max(waits) > 450


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ValueError("boom"), "unexpected ValueError: boom"),
        (KeyError("contact_id"), "unexpected KeyError: 'contact_id'"),
        (RuntimeError(), "unexpected RuntimeError: RuntimeError"),
    ],
)
def test_unexpected_exceptions_retry_then_die_naming_their_class(exc, reason):
    """A bug-shaped exception is retried like a transient one, and its class name is in the reason."""
    first = decide(exc, 1, NOW, POLICY)
    assert not first.dead and first.reason == reason and NOW <= first.retry_at <= NOW + 30
    assert decide(exc, 5, NOW, POLICY) == Decision(dead=True, reason=f"gave up after 5 attempts: {reason}")


def test_reason_is_capped_at_500_characters():
    """A huge error message is cut to 500 characters so it fits the error history."""
    reason = describe(TransientError("x" * 5000))
    assert len(reason) == 500 and reason.endswith("...")
    assert describe(TransientError("short")) == "short"


def test_contact_gone_is_retried_at_once():
    """A contact deleted in Mautic is not Mautic failing: retry immediately (then dead after max attempts)."""
    from mautic_ctl.errors import ContactGone
    from mautic_ctl.retry import RetryPolicy, decide

    policy = RetryPolicy(max_attempts=3)
    decision = decide(ContactGone("gone"), 1, 1000.0, policy)
    assert not decision.dead and decision.retry_at == 1000.0
    assert decide(ContactGone("gone"), 3, 1000.0, policy).dead


def test_a_rate_limit_reset_in_the_far_future_waits_at_most_the_backoff_cap():
    """Issue 9, hard case 1: `X-RateLimit-Reset: 99999999999` (the year 5138) defers by the cap, not forever."""
    reset = datetime.fromtimestamp(99999999999, tz=UTC)
    decision = decide(RateLimited(reset_at=reset), 1, NOW, POLICY)
    assert decision.retry_at == NOW + POLICY.cap and not decision.dead and not decision.counts_as_attempt
