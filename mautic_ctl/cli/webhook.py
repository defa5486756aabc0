"""webhook serve | list | show | retry, and simulate: billing webhooks in, recorded before they are acknowledged."""

from typing import Annotated

import typer

from mautic_ctl.cli.context import app_context
from mautic_ctl.cli.options import ConfigOpt, DbOpt, JsonOpt

webhook_app = typer.Typer(
    help="Receive Stripe / LemonSqueezy webhooks and the product's own events.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
    app.command("simulate")(simulate)


@webhook_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8787).")] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Also drain the queue in the background after each delivery.")
    ] = False,
    dashboard: Annotated[
        bool, typer.Option("--dashboard", help="Also serve the dashboard's pages under /dashboard.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Serve POST /webhooks/stripe, POST /webhooks/lemonsqueezy and POST /events (bearer token).

    Each delivery is verified over its raw body and recorded in one transaction before the 2xx;
    applying is left to `queue run` (or --apply).

    Example: mautic-ctl webhook serve --port 8787 --apply
    """
    from mautic_ctl.cli.output import info
    from mautic_ctl.services.serve import serve_webhooks

    def banner(url: str) -> None:
        info(f"mautic-ctl webhook receiver on {url} (POST /webhooks/stripe, /webhooks/lemonsqueezy, /events)")
        if dashboard:
            info(f"dashboard on {url}/dashboard/")

    rt = app_context(ctx).runtime(config=config, db=db)
    serve_webhooks(rt, host=host, port=port, apply=apply, dashboard=dashboard, on_ready=banner)


@webhook_app.command("list")
def list_(
    ctx: typer.Context,
    outcome: Annotated[str | None, typer.Option("--outcome", help="recorded|ignored|superseded|waiting|dead")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Webhook deliveries received, newest first (dead ones keep their body and the reason).

    Example: mautic-ctl webhook list --outcome dead --json
    """
    from mautic_ctl.cli.output import emit_json, table
    from mautic_ctl.cli.render import ts
    from mautic_ctl.errors import InputError
    from mautic_ctl.store.billing import list_deliveries
    from mautic_ctl.webhooks.recording import RecordStatus

    known = [s.value for s in RecordStatus]
    if outcome is not None and outcome not in known:
        raise InputError(f"unknown outcome {outcome!r}; use one of: {', '.join(known)}.")
    rt = app_context(ctx).runtime(config=config, db=db)
    rows = list_deliveries(rt.conn, outcome, limit)
    if as_json:
        emit_json({"deliveries": rows, "count": len(rows)})
        return
    table("webhook deliveries", ("id", "provider", "delivery id", "type", "outcome", "queue id", "received", "reason"),
          [(r["id"], r["provider"], r["delivery_id"], r["event_type"], r["outcome"], r["event_pk"],
            ts(r["received_at"]), r["reason"]) for r in rows])  # fmt: skip


@webhook_app.command("show")
def show(
    ctx: typer.Context,
    delivery: Annotated[str, typer.Argument(help="Delivery id from `webhook list` (or its evt_… / ls-… key).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """One stored delivery: outcome, reason, what superseded it, its queue event and its body.

    Example: mautic-ctl webhook show 12 --json
    """
    import json

    from mautic_ctl.cli.output import emit_json, key_values
    from mautic_ctl.cli.render import ts
    from mautic_ctl.services.billing import show_delivery

    rt = app_context(ctx).runtime(config=config, db=db)
    row = show_delivery(rt, delivery)
    if as_json:
        emit_json(row)
        return
    pairs = [(k, ts(v) if k == "received_at" else v) for k, v in row.items() if k != "body"]
    key_values(f"webhook delivery {row['id']}", [*pairs, ("body", json.dumps(row["body"], indent=2))])


@webhook_app.command("retry")
def retry(
    ctx: typer.Context,
    deliveries: Annotated[list[str] | None, typer.Argument(help="Delivery ids from `webhook list`.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead delivery.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Read stored deliveries (dead, waiting, ignored) again with what is known now.

    Their signatures were verified when they arrived. A delivery whose user became known turns into
    a queue event (apply it with `queue run`); one still unresolved stays waiting or dead.

    Example: mautic-ctl webhook retry --all-dead && mautic-ctl queue run
    """
    from mautic_ctl.cli.output import emit_json, table
    from mautic_ctl.services.billing import retry_deliveries

    rt = app_context(ctx).runtime(config=config, db=db)
    results = retry_deliveries(rt, deliveries or [], all_dead=all_dead)
    if as_json:
        emit_json({"deliveries": results, "count": len(results)})
        return
    table("webhook retry", ("id", "delivery id", "outcome", "queue event", "reason"),
          [(r["id"], r["delivery_id"], r["status"], r.get("event_id"), r.get("reason")) for r in results])  # fmt: skip


def simulate(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help="stripe or lemonsqueezy")],
    event: Annotated[str, typer.Argument(help="e.g. customer.subscription.updated, subscription_created")],
    email: Annotated[str, typer.Option("--email")],
    from_: Annotated[str | None, typer.Option("--from", help="Tier before.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Tier after.")] = None,
    user_id: Annotated[
        str | None, typer.Option("--user-id", help="Put metadata.user_id / custom_data.user_id.")
    ] = None,
    amount: Annotated[float, typer.Option("--amount", help="Payment amount (major units).")] = 29.0,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Sign with this secret (default: the configured one).")
    ] = None,
    test_mode: Annotated[
        bool, typer.Option("--test-mode", help="A test-mode event (livemode false / test_mode true).")
    ] = False,
    send: Annotated[
        str | None, typer.Option("--send", help="POST it to a running receiver, e.g. http://127.0.0.1:8787.")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Make a realistic signed webhook delivery (like `stripe trigger`), for tests and for wiring things up.

    Writes exactly the signed body on stdout (no newline added, so `> body.json` verifies), and the
    signature header on stderr; --json prints both in one object. With --send URL it posts the
    delivery to a running `webhook serve` and prints the receiver's answer instead.

    Example: mautic-ctl simulate stripe customer.subscription.updated --email a@example.com --from free --to pro
    """
    import json
    import sys
    from datetime import UTC, datetime

    from mautic_ctl.cli.output import emit_json, err_line
    from mautic_ctl.errors import MauticCtlError
    from mautic_ctl.services.billing import provider_configs, send_delivery
    from mautic_ctl.webhooks.simulate import simulate as make

    rt = app_context(ctx).runtime(config=config)
    cfg = provider_configs(rt.settings).get(provider)
    delivery = make(provider, event, email=email, from_tier=from_, to_tier=to,
                    secret=secret or (cfg.secret if cfg else None), tiers=cfg.tiers if cfg else {},
                    now=datetime.now(UTC), user_id=user_id, amount=amount, live=not test_mode)  # fmt: skip
    if send is not None:
        status, answer = send_delivery(send, provider, delivery.body, delivery.headers)
        if as_json:
            emit_json({"http_status": status, "response": answer})
        else:
            err_line(f"HTTP {status}")
            sys.stdout.write((answer if isinstance(answer, str) else json.dumps(answer)) + "\n")
        if not 200 <= status < 300:
            raise MauticCtlError(f"the receiver answered HTTP {status}; see its answer above.")
        return
    if as_json:
        emit_json({"headers": delivery.headers, "body": delivery.body.decode()})
        return
    sys.stdout.buffer.write(delivery.body)
    sys.stdout.flush()
    for name, value in delivery.headers.items():
        if name.lower() in ("stripe-signature", "x-signature"):
            err_line(f"{name}: {value}")
