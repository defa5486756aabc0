"""What a run's outcome means for whoever started it: the exit policy, as pure functions.

Every renderer (a table, `--json`, the webhook receiver's drain, the dashboard) asks these functions
whether an outcome is a success, something that will be retried, or a failure — so a command's exit
code never depends on which way its result was printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mautic_ctl.errors import EventFailed, MauticCtlError, MauticSetupError, Queued


@dataclass(slots=True)
class DrainReport:
    """What one drain did; filled in by the drain as rounds settle."""

    applied: int = 0
    retried: int = 0
    deferred: int = 0
    dead: int = 0
    superseded: int = 0
    calls: int = 0
    seconds: float = 0.0
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)  # event pk -> outcome
    unreachable: str | None = None  # why nothing could be claimed (Mautic down before the first round)
    setup_error: str | None = None  # Mautic refuses our credentials or URL: the drain stopped, events stay due

    @property
    def processed(self) -> int:
        return self.applied + self.retried + self.deferred + self.dead + self.superseded


def verdict(
    report: DrainReport, *, remaining_due: int = 0, scheduled: int = 0, last_error: str | None = None
) -> MauticCtlError | None:
    """None when every due event was applied; MauticSetupError (78) when Mautic refuses us as configured
    (the drain stopped there, nothing counted); EventFailed (1) when some went dead in this run — a dead
    event outranks a queued one, since a person must act; Queued (75) when some wait for a retry,
    naming the last error of what remains."""
    if report.setup_error:
        return MauticSetupError(
            f"{report.setup_error.rstrip('.')}. Stopped; {scheduled + remaining_due} event(s) stay queued "
            f"(due now: {remaining_due}, no attempt counted): run `mautic-ctl queue run` once this is fixed."
        )
    if report.dead:
        return EventFailed(f"{report.dead} event(s) went dead in this run; see `mautic-ctl queue list --status dead`.")
    if report.unreachable:
        return Queued(f"Mautic is unreachable ({report.unreachable.rstrip('.')}); events stay queued.")
    if report.retried or report.deferred or remaining_due or scheduled:
        why = f"; last error: {last_error.rstrip('.')}" if last_error else ""
        return Queued(
            f"{scheduled + remaining_due} event(s) remain queued (due now: {remaining_due}){why}; run again later "
            "(`queue run --now` skips the backoff)."
        )
    return None


def record_warning(event_id: str, pk: int, status: str) -> str | None:
    """What a person must be told even when the exit code is 0: a superseded event changed nothing."""
    if status == "superseded":
        return (
            f"event {event_id} was not applied: a newer event of the same stream was already applied, so it is "
            f"settled as superseded (`mautic-ctl queue show {pk}` says by which)."
        )
    return None


def record_verdict(
    event_id: str, pk: int, status: str, error: str | None, *, setup_error: str | None = None
) -> MauticCtlError | None:
    """The exit policy of a recording command: applied, recorded or duplicate is success; a setup error
    met by the attempt right after recording is exit 78 (the event stays due)."""
    if status == "queued" and setup_error:
        return MauticSetupError(
            f"{setup_error.rstrip('.')}. The event is recorded (queue id {pk}) and stays due: "
            "run `mautic-ctl queue run` once this is fixed."
        )
    if status == "queued":
        why = f" ({error})" if error else ""
        return Queued(f"queued: event {event_id} is recorded and will be applied by `mautic-ctl queue run`{why}.")
    if status == "dead":
        return EventFailed(
            f"event {event_id} could not be applied: {error} "
            f"(see `mautic-ctl queue show {pk}`; `queue retry {pk}` after fixing it)."
        )
    return None
