"""login, email-change, unsubscribe, resubscribe, delete-user, track: the rest of a user's life.

Each records one lifecycle event and applies it at once, exactly like `signup` (see cli/events.py).
"""

from collections.abc import Callable
from typing import Annotated

import typer

from mautic_ctl.cli.events import record_command
from mautic_ctl.cli.options import (
    ConfigOpt,
    DbOpt,
    EmailOpt,
    EventIdOpt,
    JsonOpt,
    NoApplyOpt,
    OccurredOpt,
    UserIdOpt,
)

CommentOpt = Annotated[
    str | None, typer.Option("--comment", help="Why (kept with the Do Not Contact entry in Mautic).")
]


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("email-change")(email_change)
    app.command("unsubscribe")(unsubscribe)
    app.command("resubscribe")(resubscribe)
    app.command("delete-user")(delete_user)
    app.command("track")(track)


def login(
    ctx: typer.Context,
    user_id: UserIdOpt,
    email: EmailOpt = None,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The user logged in: set last_login (--occurred-at, default now). Logins queued together cost one update.

    Example: mautic-ctl login --user-id u1 --no-apply
    """
    record_command(ctx, "login", as_json, no_apply, config, db, user_id=user_id, email=email, event_id=event_id,
                   occurred_at=occurred_at)  # fmt: skip


def email_change(
    ctx: typer.Context,
    user_id: UserIdOpt,
    email: Annotated[str, typer.Option("--email", help="The user's new email address.")],
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The user changed their address: the same contact gets it (never a second contact).

    Example: mautic-ctl email-change --user-id u1 --email ada.lovelace@example.com
    """
    record_command(ctx, "email_change", as_json, no_apply, config, db, user_id=user_id, email=email,
                   event_id=event_id, occurred_at=occurred_at)  # fmt: skip


def _consent(kind: str, doc: str) -> Callable[..., None]:
    """`unsubscribe` and `resubscribe`: the same options, one consent switch each way."""

    def command(
        ctx: typer.Context,
        user_id: UserIdOpt,
        comment: CommentOpt = None,
        email: EmailOpt = None,
        event_id: EventIdOpt = None,
        occurred_at: OccurredOpt = None,
        no_apply: NoApplyOpt = False,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        record_command(ctx, kind, as_json, no_apply, config, db, user_id=user_id, comment=comment, email=email,
                       event_id=event_id, occurred_at=occurred_at)  # fmt: skip

    command.__doc__ = doc
    return command


unsubscribe = _consent(
    "unsubscribe",
    """Marketing consent withdrawn: Do Not Contact (email, reason "unsubscribed"), ahead of queued events.

    Example: mautic-ctl unsubscribe --user-id u1
    """,
)
resubscribe = _consent(
    "resubscribe",
    """Marketing consent given again: remove the contact's Do Not Contact entry for email.

    Example: mautic-ctl resubscribe --user-id u1
    """,
)


def delete_user(
    ctx: typer.Context,
    user_id: UserIdOpt,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Account deletion: delete (or anonymise) the contact, then erase the user from mautic-ctl's store.

    Example: mautic-ctl delete-user --user-id u1
    """
    record_command(ctx, "delete_user", as_json, no_apply, config, db, user_id=user_id, event_id=event_id,
                   occurred_at=occurred_at)  # fmt: skip


def track(
    ctx: typer.Context,
    user_id: UserIdOpt,
    event: Annotated[str, typer.Option("--event", help="The product event's name, e.g. feature_used.")],
    prop: Annotated[
        list[str] | None, typer.Option("--prop", help="KEY=VALUE property of the event (repeatable).")
    ] = None,
    email: EmailOpt = None,
    event_id: EventIdOpt = None,
    occurred_at: OccurredOpt = None,
    no_apply: NoApplyOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """A product event: the config's track mappings it matches act in Mautic; unmapped events are only counted.

    Example: mautic-ctl track --user-id u1 --event project_created
    """
    record_command(ctx, "track", as_json, no_apply, config, db, user_id=user_id, name=event, properties=prop or [],
                   email=email, event_id=event_id, occurred_at=occurred_at)  # fmt: skip
