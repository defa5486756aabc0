"""demo: the whole lifecycle against an in-process Mautic emulator, no set-up."""

import typer

from mautic_ctl.cli.options import JsonOpt


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(as_json: JsonOpt = False) -> None:
    """Run signup -> upgrade -> downgrade -> cancel -> reactivate for a few users (with an outage the
    queue survives) against a built-in Mautic emulator, then show what Mautic holds.

    Example: mautic-ctl demo --json
    """
    from dataclasses import asdict

    from mautic_ctl.cli.output import emit_json, info, table
    from mautic_ctl.services.demo import run_demo

    if not as_json:
        info("Starting an in-process Mautic 5 emulator and a temporary queue; Mautic goes down mid-story.")
    result = run_demo(
        on_step=None
        if as_json
        else lambda s: info(f"  {s.user:<4} {s.detail:<40} {s.status}" + (f" ({s.transition})" if s.transition else ""))
    )
    if as_json:
        emit_json(asdict(result))
        return
    info(f"Mautic came back; `queue run` applied the {result.drained_after_outage} queued event(s).")
    table("What Mautic holds now", ("contact", "segments", "campaigns", "tier", "status", "signup", "lifetime value"),
          [(f"{c.email} (#{c.contact_id})", ", ".join(c.segments), ", ".join(c.campaigns),
            c.fields["subscription_tier"], c.fields["subscription_status"], c.fields["signup_date"],
            c.fields["lifetime_value"]) for c in result.contacts],
          caption=f"{result.api_calls} API calls in all")  # fmt: skip
