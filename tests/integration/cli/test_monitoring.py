"""Monitoring and the audit trail (issue 12): `queue stats --prometheus / --fail-if-*` and `mautic-ctl log`,
through the installed command against the emulator."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import run_installed


def _samples(path) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_prometheus_textfile_and_cron_alarms(env, mautic, tmp_path):
    for n in (1, 2):
        assert run_installed(["signup", "--user-id", f"m{n}", "--email", f"m{n}@example.com"], env).code == 0
    mautic.state.segments[2].is_published = False  # the Free Tier segment: the next signup goes dead
    assert run_installed(["signup", "--user-id", "m3", "--email", "m3@example.com"], env).code == 1
    assert run_installed(["signup", "--user-id", "m4", "--email", "m4@example.com", "--no-apply"], env).code == 0
    mautic.state.segments[2].is_published = True
    prom = tmp_path / "textfile" / "mautic_ctl.prom"

    res = run_installed(["queue", "stats", "--prometheus", str(prom), "--fail-if-backlog", "0", "--fail-if-dead"], env)
    assert res.code == 4
    assert res.stderr.strip() == (
        "error: queue alarm: backlog 1 > 0 (due now: 1); 1 dead event(s); see `mautic-ctl queue list --status dead`."
    )
    s = _samples(prom)
    assert s[("mautic_ctl_queue_events", (("status", "done"),))] == 2
    assert s[("mautic_ctl_queue_events", (("status", "pending"),))] == 1
    assert s[("mautic_ctl_queue_dead_events", ())] == 1
    assert s[("mautic_ctl_queue_due_events", ())] == 1
    assert s[("mautic_ctl_applied_events_total", ())] == 2
    assert ("mautic_ctl_last_run_timestamp_seconds", ()) not in s  # no `queue run` yet

    assert run_installed(["queue", "run"], env).code == 0
    res = run_installed(["queue", "stats", "--prometheus", str(prom), "--fail-if-backlog", "0", "--json"], env)
    assert res.code == 0, res.stderr
    assert res.json()["last_run"]["exit_code"] == 0 and res.json()["last_run"]["finished_at"].endswith("Z")
    s = _samples(prom)
    assert s[("mautic_ctl_last_run_success", ())] == 1 and s[("mautic_ctl_last_run_timestamp_seconds", ())] > 0
    assert run_installed(["queue", "stats", "--fail-if-dead"], env).code == 4


def test_log_filters_the_audit_trail(env, mautic):
    assert run_installed(["signup", "--user-id", "a1", "--email", "a1@example.com"], env).code == 0
    assert run_installed(["signup", "--user-id", "a2", "--email", "a2@example.com"], env).code == 0
    res = run_installed(["log", "--user-id", "a1", "--json"], env)
    assert res.code == 0, res.stderr
    calls = res.json()["calls"]
    assert calls and {c["user_id"] for c in calls} == {"a1"}
    assert {(c["method"], c["path"]) for c in calls} >= {("POST", "/api/contacts/batch/new")}
    assert all(c["at"].endswith("Z") and isinstance(c["duration_ms"], float) for c in calls)

    pk = calls[0]["event_pk"]
    by_event = run_installed(["log", "--event", str(pk), "--json"], env).json()["calls"]
    assert by_event and {c["event_pk"] for c in by_event} == {pk}
    assert run_installed(["log", "--status", "4xx", "--since", "1h", "--json"], env).json()["count"] == 0
    assert run_installed(["log", "--status", "2xx", "--since", "1h", "--json"], env).json()["count"] >= 4

    mautic.state.segments[2].is_published = False
    run_installed(["signup", "--user-id", "a3", "--email", "a3@example.com"], env)
    res = run_installed(["log", "--status", "error"], env)  # off a terminal: plain tab-separated lines
    lines = res.stdout.splitlines()
    assert lines[0] == "at\tevent\tuser\tmethod\tpath\tstatus\tms"
    assert any("\ta3\tPOST\t/api/segments/2/contacts/add\t403\t" in ln for ln in lines[1:]), lines
    assert run_installed(["log", "--status", "weird"], env).code == 2
