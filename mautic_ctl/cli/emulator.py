"""`mautic-ctl emulator`: serve the Mautic 5 emulator in the foreground to try the tool without a Mautic.

Registered by the root app as `app.command("emulator")(emulator)`; the serving itself lives in
`mautic_ctl.emulator.server`.
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mautic_ctl.emulator.config import EmulatorConfig

# Only the light config module at import time: every `mautic-ctl` start builds this command's
# signature, and the emulator itself (Starlette, uvicorn) must not load unless it is served.
from mautic_ctl.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
)


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)


class Profile(StrEnum):
    none = "none"
    mautic51 = "mautic51"


def emulator(
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8099,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    username: Annotated[str, typer.Option("--username", help="HTTP Basic user.")] = DEFAULT_USERNAME,
    password: Annotated[str, typer.Option("--password", help="HTTP Basic password.")] = DEFAULT_PASSWORD,
    client_id: Annotated[str, typer.Option("--client-id", help="OAuth2 client id.")] = DEFAULT_CLIENT_ID,
    client_secret: Annotated[
        str, typer.Option("--client-secret", help="OAuth2 client secret.")
    ] = DEFAULT_CLIENT_SECRET,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Delay added to every API call.", min=0)] = 0.0,
    jitter_ms: Annotated[float, typer.Option("--jitter-ms", help="Extra random delay, up to this.", min=0)] = 0.0,
    fail_rate: Annotated[
        float, typer.Option("--fail-rate", help="Share of calls answered 500/502/503.", min=0, max=1)
    ] = 0.0,
    rate_limit: Annotated[
        int, typer.Option("--rate-limit", help="API calls allowed per hour (0 = no limit).", min=0)
    ] = 0,
    profile: Annotated[
        Profile, typer.Option("--profile", help="mautic51: charge the CPU time a real Mautic 5.1 takes.")
    ] = Profile.none,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed, so injected faults repeat.", show_default=False)
    ] = None,
    token_lifetime: Annotated[
        float, typer.Option("--token-lifetime", help="Seconds an OAuth2 access token stays valid.", min=1)
    ] = 3600.0,
    empty: Annotated[
        bool, typer.Option("--empty", help="No seeded segments, campaigns or custom fields (try `bootstrap`).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Describe it as one JSON line on stdout (url, credentials, ids).")
    ] = False,
) -> None:
    """Serve a Mautic 5 emulator (seeded, with fault injection) until Ctrl-C.

    Example: mautic-ctl emulator --port 8099 --latency-ms 20 --json &
    """
    from mautic_ctl.emulator import server as emulator_server
    from mautic_ctl.emulator.config import EmulatorConfig, FaultConfig

    faults = FaultConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        profile=profile.value,
        seed=seed,
    )
    config = EmulatorConfig(
        users={username: password},
        clients={client_id: client_secret},
        token_lifetime=token_lifetime,
        faults=faults,
        seed=not empty,
    )
    from mautic_ctl.services.serve import listen

    listen(host, port).close()  # a busy port is one line (exit 69), before the banner
    if as_json:
        describe_json(config, f"http://{host}:{port}")
    else:
        describe(config, f"http://{host}:{port}")
    emulator_server.serve_forever(config, host=host, port=port)


def describe_json(config: "EmulatorConfig", url: str) -> None:
    """The same as ``describe``, as one JSON object on stdout (printed before serving starts)."""
    from mautic_ctl.cli.output import emit_json
    from mautic_ctl.emulator.seed import SEED_CAMPAIGNS, SEED_FIELDS, SEED_SEGMENTS

    user, password = next(iter(config.users.items()))
    client_id, secret = next(iter(config.clients.items()))
    seeded = {"segments": SEED_SEGMENTS, "campaigns": SEED_CAMPAIGNS, "fields": SEED_FIELDS} if config.seed else {}
    emit_json({"url": url, "basic": {"username": user, "password": password},
               "oauth2": {"client_id": client_id, "client_secret": secret}, "seeded": seeded,
               "faults": config.faults.as_dict()})  # fmt: skip


def describe(config: "EmulatorConfig", url: str) -> None:
    """Print where the emulator listens, its credentials and its seeded ids (on stderr)."""
    from rich.console import Console
    from rich.table import Table

    from mautic_ctl.emulator.seed import SEED_CAMPAIGNS, SEED_FIELDS, SEED_SEGMENTS

    console = Console(stderr=True, highlight=False)
    user, password = next(iter(config.users.items()))
    client_id, secret = next(iter(config.clients.items()))
    console.print(f"[bold]Mautic 5 emulator[/bold] on {url}  (control API: {url}/_emulator/state)")
    console.print(f"  Basic auth   user [cyan]{user}[/cyan]  password [cyan]{password}[/cyan]")
    console.print(f"  OAuth2       client_id [cyan]{client_id}[/cyan]  client_secret [cyan]{secret}[/cyan]")
    faults = config.faults
    console.print(
        f"  faults       latency {faults.latency_ms:g}+{faults.jitter_ms:g} ms, fail rate {faults.fail_rate:g}, "
        f"rate limit {faults.rate_limit or 'off'}, profile {faults.profile}, seed {faults.seed}"
    )
    table = Table(title="Seeded ids", show_edge=False)
    for column in ("kind", "key", "id"):
        table.add_column(column)
    for kind, ids in (("segment", SEED_SEGMENTS), ("campaign", SEED_CAMPAIGNS), ("field", SEED_FIELDS)):
        for key, value in ids.items():
            table.add_row(kind, key, str(value))
    console.print(table)
    console.print("Ctrl-C to stop.")
