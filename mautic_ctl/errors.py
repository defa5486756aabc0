"""One exception tree for mautic-ctl; each class carries its exit code and whether a retry can help.

::

    MauticCtlError                 exit 1   anything unexpected we still name
    ├── InputError                 exit 2   bad input; nothing was recorded
    ├── ConfigError                exit 2   bad or missing configuration
    ├── VerifyFailed               exit 3   verify-config found drift
    ├── DriftFound                 exit 3   reconcile found users whose contact differs from what it should be
    ├── Unavailable                exit 69  a server cannot start: its address is in use or not allowed
    ├── Unhealthy                  exit 4   `doctor` or a `queue stats --fail-if-*` alarm found a problem
    ├── Queued                     exit 75  accepted and recorded; will be applied by `queue run`
    ├── EventFailed                exit 1   an event went dead (permanent error); `queue show` says why
    ├── StoreError                 exit 1   the local store cannot be used right now (locked, full disk)
    │   └── StoreRefused           exit 2   the store is not ours to use: a newer mautic-ctl's, or another app's
    ├── RuleError                  exit 1   the rules cannot apply this event to this user (dead-lettered)
    ├── LeaseLost                  (never shown) another worker took the event over: stop, do not settle
    └── MauticError                         an answer (or no answer) from Mautic
        ├── TransientError         exit 75  timeout, connection error, 5xx: retry with backoff
        │   ├── RateLimited        exit 75  429: defer until X-RateLimit-Reset, never sleep in-process
        │   ├── OutcomeUnknown     exit 75  a non-idempotent call may have been applied: check first
        │   └── ContactGone        exit 75  the contact was deleted in Mautic: re-create it from the email
        ├── MauticSetupError       exit 78  Mautic refuses us as configured: fix a setting (events stay due)
        │   ├── AuthError          exit 78  401/403 after one token refresh, or a refused token request
        │   └── NotMautic          exit 78  the configured URL does not answer like a Mautic API
        └── PermanentError         exit 1   400/404/422, a 200 with `errors`: retrying cannot help
            ├── EmailConflict      exit 1   an email change to an address another contact has
            └── NotFound           exit 1   404 (segment, campaign or contact missing)

Nothing above ``client.py`` imports httpx exceptions; the client translates them into this tree.
"""

from __future__ import annotations

from datetime import datetime

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INPUT = 2
EXIT_VERIFY_FAILED = 3
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a service we were asked to run cannot be started
EXIT_UNHEALTHY = 4  # doctor / queue stats alarms: something needs an operator's attention
EXIT_QUEUED = 75  # EX_TEMPFAIL from sysexits.h: cron and supervisors know it means "try later"
EXIT_MAUTIC_SETUP = 78  # EX_CONFIG from sysexits.h: Mautic refuses the configured credentials or URL


class MauticCtlError(Exception):
    """Something went wrong."""

    exit_code: int = EXIT_ERROR
    retryable: bool = False

    def __init__(self, message: str | None = None) -> None:
        # A subclass with no message uses its docstring's first line, as procrastinate does.
        super().__init__(message or (self.__doc__ or "").strip().splitlines()[0])

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(MauticCtlError):
    """The input is not valid; nothing was recorded."""

    exit_code = EXIT_INPUT


class ConfigError(MauticCtlError):
    """The configuration is not valid; fix it and run again."""

    exit_code = EXIT_INPUT


class DriftFound(MauticCtlError):
    """Mautic does not hold what it should for some users (reconcile)."""

    exit_code = EXIT_VERIFY_FAILED


class VerifyFailed(MauticCtlError):
    """Some configured segments, campaigns or fields are missing in Mautic."""

    exit_code = EXIT_VERIFY_FAILED


class Unavailable(MauticCtlError):
    """A server could not be started (its address is in use, or not permitted)."""

    exit_code = EXIT_UNAVAILABLE


class Unhealthy(MauticCtlError):
    """A health check failed; the lines above say which."""

    exit_code = EXIT_UNHEALTHY


class Queued(MauticCtlError):
    """The event is recorded and will be applied by `mautic-ctl queue run`."""

    exit_code = EXIT_QUEUED
    retryable = True


class EventFailed(MauticCtlError):
    """The event could not be applied and is now dead; see `mautic-ctl queue show`."""


class StoreError(MauticCtlError):
    """The local store cannot be used."""


class StoreRefused(StoreError):
    """The store belongs to a newer mautic-ctl or to another application; it was left untouched."""

    exit_code = EXIT_INPUT


class RuleError(MauticCtlError):
    """The event cannot be applied to this user (e.g. no email to create the contact with)."""


class LeaseLost(MauticCtlError):
    """Another worker took this event over after our lease expired: stop working on it, never settle it."""


class MauticError(MauticCtlError):
    """Mautic answered with an error."""

    status: int | None = None

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class TransientError(MauticError):
    """Mautic is unreachable or failed temporarily; the event stays queued for a retry."""

    exit_code = EXIT_QUEUED
    retryable = True
    ambiguous = False  # True (OutcomeUnknown) when the failed request may have been applied


class RateLimited(TransientError):
    """Mautic's API rate limit is exhausted; the event waits until the limit resets."""

    def __init__(
        self, message: str | None = None, *, status: int | None = 429, reset_at: datetime | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at


class OutcomeUnknown(TransientError):
    """The request may have reached Mautic but no clear answer came back; check before repeating it."""

    # Raised only for calls that are not safe to repeat (a campaign add restarts a restartable
    # campaign): the client never retries it in-process, and the caller checks membership first.
    ambiguous = True


class ContactGone(TransientError):
    """The Mautic contact mautic-ctl knew no longer exists; it is created again from the email."""


class MauticSetupError(MauticError):
    """Mautic refuses mautic-ctl as configured; fix the setting named, then run `mautic-ctl queue run`.

    Retrying cannot help until a person changes the configuration, so a drain stops at the first one
    and leaves every event due, with no attempt counted.
    """

    exit_code = EXIT_MAUTIC_SETUP


class AuthError(MauticSetupError):
    """Mautic refused the credentials; check MAUTIC_CLIENT_ID/SECRET or MAUTIC_USERNAME/PASSWORD."""


class NotMautic(MauticSetupError):
    """The configured URL does not answer like a Mautic API; check MAUTIC_BASE_URL."""


class PermanentError(MauticError):
    """Mautic rejected the request; retrying the same request cannot succeed."""


class EmailConflict(PermanentError):
    """Another Mautic contact already has the new address; resolve it in Mautic, then `queue retry`."""

    status = 422

    def __init__(self, contact_id: int | None, other_id: int | None) -> None:
        super().__init__(
            f"email change refused: the new address belongs to Mautic contact {other_id}, not to this user's "
            f"contact {contact_id}; merge or fix them in Mautic, then run `mautic-ctl queue retry`."
        )
        self.contact_id, self.other_id = contact_id, other_id


class NotFound(PermanentError):
    """Mautic has no such item."""

    status = 404
