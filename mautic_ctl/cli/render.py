"""Turn service results into output (table or JSON) and, where the result means it, an exit code."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mautic_ctl.cli.output import emit_json, key_values, table, warn
from mautic_ctl.errors import Unhealthy, VerifyFailed
from mautic_ctl.verdict import record_verdict, record_warning, verdict

if TYPE_CHECKING:
    from mautic_ctl.services.bootstrap import BootstrapPlan
    from mautic_ctl.services.doctor import Finding
    from mautic_ctl.services.dryrun import PlannedEvent
    from mautic_ctl.services.metrics import Alarms
    from mautic_ctl.services.reconcile import ReconcileReport
    from mautic_ctl.services.record import RecordResult
    from mautic_ctl.services.verify import Check
    from mautic_ctl.verdict import DrainReport


def render_record(result: RecordResult, as_json: bool, *, setup_error: str | None = None) -> None:
    """``setup_error``: Mautic refused us as configured during the attempt at once (exit 78)."""
    payload = asdict(result)
    payload["queue_id"] = payload.pop("pk")
    if as_json:
        emit_json(payload)
    elif result.status == "recorded":  # plain, so a record-only call never pays for importing rich
        print(f"recorded event {result.event_id} (queue id {result.pk}); `mautic-ctl queue run` applies it.")
    else:
        key_values(f"event {result.event_id}", [(k, v) for k, v in payload.items() if v is not None])
    note = record_warning(result.event_id, result.pk, result.status)
    if note is not None:
        warn(note)
    failure = record_verdict(result.event_id, result.pk, result.status, result.error, setup_error=setup_error)
    if failure is not None:
        raise failure


def drain_payload(report: DrainReport, remaining_due: int) -> dict[str, Any]:
    return {
        "applied": report.applied,
        "retried": report.retried,
        "deferred": report.deferred,
        "dead": report.dead,
        "superseded": report.superseded,
        "api_calls": report.calls,
        "seconds": round(report.seconds, 3),
        "remaining_due": remaining_due,
        "unreachable": report.unreachable,
    }


def render_drain(
    report: DrainReport, remaining_due: int, scheduled: int, as_json: bool, last_error: str | None = None
) -> None:
    """Exit 0 when every due event was applied, 75 when some wait for a retry, 1 when some went dead,
    78 when Mautic refuses us as configured (the drain stopped there; nothing was counted)."""
    payload = drain_payload(report, remaining_due)
    payload["scheduled_for_retry"] = scheduled
    payload["setup_error"] = report.setup_error
    payload["last_error"] = last_error
    if as_json:
        emit_json(payload)
    else:
        table("queue run", ("applied", "retried", "deferred", "dead", "superseded", "API calls", "seconds"),
              [(report.applied, report.retried, report.deferred, report.dead, report.superseded, report.calls,
                f"{report.seconds:.2f}")])  # fmt: skip
    failure = verdict(report, remaining_due=remaining_due, scheduled=scheduled, last_error=last_error)
    if failure is not None:
        raise failure


def ts(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S") if value else None


def render_events(items: list[dict[str, Any]], as_json: bool, status: str | None) -> None:
    if as_json:
        emit_json({"events": items, "count": len(items)})
        return
    rows = [(e["id"], e["status"], e["kind"], e["user_id"], e["source"], e["event_id"], e["attempts"],
             ts(e["next_attempt_at"]) if e["status"] == "pending" else "", (e["last_error"] or "")[:80])
            for e in items]  # fmt: skip
    table(f"events ({status or 'all'}, newest first)",
          ("id", "status", "kind", "user", "source", "event id", "attempts", "next attempt", "last error"), rows)  # fmt: skip


def render_stats(stats: dict[str, Any], as_json: bool, alarms: Alarms | None = None) -> None:
    """Exit 4 (Unhealthy) when an alarm given on the command line fires."""
    from mautic_ctl.services.metrics import check_alarms

    if as_json:
        emit_json(stats)
    else:
        run = stats.get("last_run")
        pairs = [*stats["counts"].items(), ("due now", stats["due"]), ("oldest due (s)", stats["oldest_due_age_s"]),
                 ("next retry", ts(stats["next_attempt_at"])),
                 ("last run", f"{ts(run['finished_at'])} (exit {run['exit_code']})" if run else "never")]  # fmt: skip
        key_values("queue", pairs)
    if alarms is not None:
        check_alarms(stats, alarms)


def render_checks(checks: list[Check], as_json: bool, strict: bool = False) -> None:
    """Exit 3 when something is missing; a warning (a campaign not configured) only with ``strict``."""
    from mautic_ctl.cli.output import warn

    failed = [c for c in checks if not c.ok and (strict or not c.warning)]
    warnings = [c for c in checks if not c.ok and c.warning and not strict]
    if as_json:
        emit_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        table("verify-config", ("kind", "config key", "configured as", "Mautic id", "result", "detail"),
              [(c.kind, c.key, c.ref, c.mautic_id, "ok" if c.ok else "WARN" if c in warnings else "FAIL", c.detail)
               for c in checks])  # fmt: skip
    for c in warnings:
        if c.kind == "campaign":
            warn(f'{c.kind} {c.key} is not configured: its transition enters no campaign (set it, or "none").')
        else:
            warn(c.detail)
    if failed:
        names = ", ".join(f"{c.kind} {c.key}" for c in failed[:5])
        raise VerifyFailed(f"{len(failed)} configured item(s) are missing or unusable in Mautic: {names}.")


def render_event_detail(event: dict[str, Any], as_json: bool) -> None:
    import json

    event = {**event, "payload": json.loads(event["payload"]), "progress": json.loads(event["progress"]),
             "result": json.loads(event["result"]) if event["result"] else None}  # fmt: skip
    if as_json:
        emit_json(event)
        return

    def shown(key: str, value: Any) -> Any:  # JSON for structures: never a Python repr
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return ts(value) if key.endswith(("_at", "_until")) and isinstance(value, float) else value

    key_values(f"queue event {event['id']}",
               [(k, shown(k, v)) for k, v in event.items() if k not in ("errors", "calls")])  # fmt: skip
    history = [(ts(e["at"]), f"attempt {e['attempt']}", e["outcome"], e["error"]) for e in event["errors"]]
    history += [(ts(c["at"]), "call", f"{c['method']} {c['path']}", c["status"] or c["error"] or "no answer")
                for c in event.get("calls", [])]  # fmt: skip
    if history:
        table("history", ("at", "what", "outcome / call", "error / status"), sorted(history, key=lambda r: r[0] or ""))


def render_ids(what: str, ids: list[int], as_json: bool, *, wanted: list[int] | None = None) -> None:
    from mautic_ctl.cli.output import warn

    missing = sorted(set(wanted or ()) - set(ids))
    if as_json:
        emit_json({"ids": ids, "count": len(ids), "left": missing})
    else:  # the result: stdout, like every command's result
        print(f"{what}: {len(ids)} event(s)" + (f" ({', '.join(map(str, ids))})" if ids and len(ids) <= 20 else ""))
    if missing:
        warn(
            f"left as they are (done, superseded, being applied right now, or unknown): {', '.join(map(str, missing))}"
        )


def render_ingest(report: dict[str, Any], drained: DrainReport | None, as_json: bool) -> None:
    payload = {k: v for k, v in report.items() if k != "queue_ids"}
    if drained is not None:
        payload["drain"] = drain_payload(drained, 0)
    if as_json:
        ids = report.get("queue_ids", [])
        # Ids for small inputs; a range for bursts (20,000 ids would be 100 KB of output nobody reads).
        extra = {"queue_ids": ids} if len(ids) <= 100 else {"first_queue_id": min(ids), "last_queue_id": max(ids)}
        emit_json({**payload, **extra})
    else:
        key_values("ingest", [(k, v) for k, v in payload.items() if k != "drain"])
        if drained is not None:
            key_values("drain", list(payload["drain"].items()))
    failure = verdict(drained) if drained is not None else None
    if failure is not None:
        raise failure


def render_reconcile(report: ReconcileReport, as_json: bool, *, fix: bool, dry_run: bool) -> None:
    """Exit 3 when Mautic drifted (0 with --fix once every correction applied), never for a missing
    campaign entry alone (reported only: entering would send the campaign's mails again)."""
    from mautic_ctl.errors import DriftFound
    from mautic_ctl.services.dryrun import call_rows

    drifted = [d for d in report.drift if d.drifted]
    payload = {
        "users": report.users,
        "drifted": len(drifted),
        "drift": [
            {"user_id": d.user_id, "email": d.email, "contact_id": d.contact_id,
             "differences": [asdict(x) for x in d.differences], "missing_entries": list(d.missing_entries)}
            for d in report.drift
        ],
        "api_calls": report.calls,
        "seconds": round(report.seconds, 3),
        "corrections": [e.event_id for e in report.corrections],
        "fixed": report.fixed,
        "dry_run": dry_run,
    }  # fmt: skip
    if dry_run and fix:
        payload["plan"] = [asdict(p) for p in report.plan]
    if as_json:
        emit_json(payload)
    else:
        rows = [(d.user_id, d.contact_id, x.what, x.has, x.should) for d in drifted for x in d.differences]
        table("reconcile", ("user", "contact", "what", "Mautic has", "should have"), rows,
              caption=f"{report.users} user(s) read with {report.calls} API call(s) in {report.seconds:.2f} s; "
              f"{len(drifted)} drifted")  # fmt: skip
        missing = [(d.user_id, d.contact_id, ", ".join(d.missing_entries)) for d in report.drift if d.missing_entries]
        if missing:
            table("campaign entries missing (reported only: reconcile never enters a campaign)",
                  ("user", "contact", "campaigns"), missing)  # fmt: skip
        if dry_run and fix:
            table("dry run: calls --fix would make", ("user", "transition", "method", "path", "body"),
                  call_rows(report.plan))  # fmt: skip
    if fix and not dry_run and report.drained is not None:
        problem = verdict(report.drained)
        if problem is not None:
            raise problem
        return
    if drifted:
        hint = "" if fix else "; `mautic-ctl reconcile --fix` repairs them through the queue"
        raise DriftFound(f"{len(drifted)} of {report.users} user(s) differ from what Mautic should hold{hint}.")


def render_plan(planned: list[PlannedEvent], as_json: bool) -> None:
    """A dry run's result: per event the state change and the calls a real run would make."""
    from mautic_ctl.services.dryrun import call_rows

    if as_json:
        emit_json({"dry_run": True, "events": [asdict(p) for p in planned]})
        return
    table("dry run: calls a real run would make (nothing was recorded or sent)",
          ("user", "transition", "method", "path", "body"), call_rows(planned))  # fmt: skip
    changes = [(p.user_id, p.outcome, _brief(p.before), _brief(p.after)) for p in planned]
    table("dry run: state change per user", ("user", "outcome", "before", "after"), changes)


def _brief(state: dict[str, Any]) -> str:
    segs = ",".join(state.get("segments") or []) or "-"
    return f"#{state.get('contact_id') or '?'} {state.get('tier') or '-'}/{state.get('status') or '-'} [{segs}]"


def render_doctor(findings: list[Finding], as_json: bool) -> None:
    """Exit 0 when healthy, 4 (Unhealthy) when a check failed."""
    from mautic_ctl.services.doctor import as_json as doctor_json

    if as_json:
        emit_json(doctor_json(findings))
    else:
        mark = {True: "ok", False: "FAIL", None: ""}
        table(
            "doctor", ("area", "check", "result", "detail"), [(f.area, f.name, mark[f.ok], f.detail) for f in findings]
        )
    from mautic_ctl.cli.output import warn

    for finding in findings:
        if finding.warning:
            warn(finding.detail)
    failed = [f for f in findings if f.ok is False]
    if failed:
        raise Unhealthy(f"{len(failed)} check(s) failed: " + "; ".join(f"{f.name}: {f.detail}" for f in failed[:3]))


def render_bootstrap(plan: BootstrapPlan, as_json: bool) -> None:
    """The plan (or what was done) on stdout; with --apply, the config snippet to paste after it."""
    from mautic_ctl.cli.output import info
    from mautic_ctl.services.bootstrap import config_snippet

    snippet = config_snippet(plan) if plan.applied else None
    if as_json:
        items = [{"kind": i.kind, "key": i.key, "name": i.name, "action": i.action, "mautic_id": i.mautic_id,
                  "detail": i.detail} for i in plan.items]  # fmt: skip
        emit_json({"applied": plan.applied, "items": items, "to_create": len(plan.to_create), "snippet": snippet})
    elif plan.applied:
        sys.stdout.write(snippet or "")
        created = [i for i in plan.items if i.action == "created"]
        info(f"bootstrap: created {len(created)} item(s)" + (f": {', '.join(f'{i.kind} {i.name}' for i in created)}"
             if created else "; nothing was missing") + ". Paste the snippet above into your config file.")  # fmt: skip
    else:
        table("bootstrap plan", ("kind", "config key", "name in Mautic", "action", "Mautic id", "detail"),
              [(i.kind, i.key, i.name, i.action, i.mautic_id, i.detail) for i in plan.items])  # fmt: skip
        n = len(plan.to_create)
        info(
            f"{n} item(s) to create; run `mautic-ctl bootstrap --apply` to create them." if n else "nothing to create."
        )
    if plan.conflicts:
        from mautic_ctl.cli.output import warn

        for item in plan.conflicts:
            warn(f"{item.kind} {item.key}: {item.detail} (bootstrap never changes what exists).")


def render_log(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json({"calls": rows, "count": len(rows)})
        return
    table("Mautic calls (newest first)", ("at", "event", "user", "method", "path", "status", "ms"),
          [(ts(r["at"]), r["event_pk"], r["user_id"], r["method"], r["path"], r["status"] or r["error"] or "no answer",
            f"{r['duration_ms']:.0f}") for r in rows])  # fmt: skip
