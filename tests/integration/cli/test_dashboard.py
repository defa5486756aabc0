"""The dashboard's pages through Starlette's test client: every route, CSRF, token, read-only, no secrets.

The queue is seeded through the real commands against the emulator: a signup that is applied (with its
Mautic calls in the audit trail) and a plan change that goes dead because its segment does not exist.
"""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mautic_ctl.dashboard.app import DashboardOptions, create_dashboard_app
from mautic_ctl.dashboard.security import CSRF_COOKIE, bind_problem


@pytest.fixture
def seeded(cli, monkeypatch, db_path: Path) -> Path:
    assert cli("signup", "--user-id", "u1", "--email", "ann@example.com", "--first-name", "Ann").code == 0
    monkeypatch.setenv("MAUTIC_PRO_TIER_SEGMENT_ID", "999")  # no such segment: the upgrade goes dead
    assert cli("plan-change", "--user-id", "u1", "--to", "pro").code == 1
    monkeypatch.setenv("MAUTIC_PRO_TIER_SEGMENT_ID", "3")
    return db_path


def client(db: Path, **options) -> TestClient:
    return TestClient(create_dashboard_app(DashboardOptions(db=db, **options)), base_url="http://127.0.0.1:8788")


def dead_pk(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id FROM events WHERE status = 'dead'").fetchone()[0]
    finally:
        conn.close()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_overview_shows_counts_chart_and_activity(seeded, cli):
    assert "none yet" in client(seeded).get("/").text.split('id="last-run">')[1][:20]
    assert cli("queue", "run").code == 0  # nothing due: exit 0, and the run is remembered
    c = client(seeded, mautic_url="http://mautic.example", auth_mode="OAuth2 (client credentials)")
    page = c.get("/")
    assert re.search(r'id="last-run">[^<]* exit 0: 0 applied, 0 dead', page.text)
    assert page.status_code == 200
    assert re.search(r'data-status="done"><div class="n">1<', page.text)
    assert re.search(r'data-status="dead"><div class="n">1<', page.text)
    assert '<svg class="chart"' in page.text and 'data-count="1"' in page.text  # the applied signup, this hour
    assert "POST /api/contacts/batch/new" in page.text or "/api/" in page.text  # the last Mautic call
    assert "http://mautic.example" in page.text and "OAuth2" in page.text


def test_event_list_filters_by_status_kind_and_user(seeded):
    c = client(seeded)
    dead = c.get("/events", params={"status": "dead"}).text
    assert "plan_change" in dead and ">signup<" not in dead
    signups = c.get("/events", params={"kind": "signup", "user_id": "u1"}).text
    assert ">signup<" in signups and "plan_change" not in signups
    assert "No events match." in c.get("/events", params={"user_id": "nobody"}).text


def test_event_page_shows_payload_errors_and_its_mautic_calls(seeded):
    c = client(seeded)
    pk = dead_pk(seeded)
    page = html.unescape(c.get(f"/events/{pk}").text)
    assert '"tier": "pro"' in page
    assert "999" in page  # the error names the missing segment
    assert re.search(r"<td>(POST|DELETE|GET|PATCH) /api/segments/999", page), "the failed call is listed"
    assert 'id="retry"' in page and 'id="replay"' not in page
    assert c.get("/events/424242").status_code == 404


def test_retry_needs_the_csrf_token_then_revives_the_event_and_audits_who(seeded):
    c = client(seeded)
    pk = dead_pk(seeded)
    page = c.get(f"/events/{pk}")
    assert c.post(f"/events/{pk}/retry", data={}).status_code == 403
    assert c.post(f"/events/{pk}/retry", data={"csrf": "forged"}).status_code == 403
    done = c.post(f"/events/{pk}/retry", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/events/{pk}?done=retry"
    after = c.get(f"/events/{pk}?done=retry").text
    assert 'id="status">pending<' in after and "Done: retry" in after
    conn = sqlite3.connect(seeded)
    actions = conn.execute("SELECT actor, action, target FROM operator_actions").fetchall()
    conn.close()
    assert actions == [("dashboard:testclient", "retry", f"event:{pk}")]


def test_a_cross_site_post_is_refused(seeded):
    c = client(seeded)
    pk = dead_pk(seeded)
    token = csrf_of(c.get(f"/events/{pk}").text)
    res = c.post(f"/events/{pk}/retry", data={"csrf": token}, headers={"origin": "http://evil.example"})
    assert res.status_code == 403


def test_replay_of_a_done_event(seeded):
    c = client(seeded)
    page = c.get("/events/1").text
    assert 'id="replay"' in page
    res = c.post("/events/1/replay", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert res.status_code == 303
    assert 'id="status">pending<' in c.get("/events/1").text


def test_user_story_and_deliveries(seeded):
    c = client(seeded)
    story = c.get("/users/u1").text
    assert "signup" in story and "plan_change" in story and "tier:free" in story  # events and the mirror
    assert "POST /api/contacts/batch/new" in story
    assert c.get("/users/nobody").status_code == 404
    assert "No deliveries." in c.get("/deliveries").text
    assert c.get("/deliveries", params={"outcome": "dead"}).status_code == 200


def test_read_only_hides_actions_and_refuses_posts(seeded):
    c = client(seeded, read_only=True)
    pk = dead_pk(seeded)
    page = c.get(f"/events/{pk}").text
    assert 'id="retry"' not in page
    c.cookies.set(CSRF_COOKIE, "x")
    assert c.post(f"/events/{pk}/retry", data={"csrf": "x"}).status_code == 403


def test_a_token_is_required_on_every_page(seeded):
    c = client(seeded, token="s3cret-dashboard-token")
    res = c.get("/", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/login"
    assert c.get("/", headers={"authorization": "Bearer wrong"}, follow_redirects=False).status_code == 303
    assert c.get("/", headers={"authorization": "Bearer s3cret-dashboard-token"}).status_code == 200
    assert "not right" in c.post("/login", data={"token": "nope"}).text
    c.post("/login", data={"token": "s3cret-dashboard-token"})
    page = c.get("/")
    assert page.status_code == 200 and "s3cret-dashboard-token" not in page.text
    assert "s3cret-dashboard-token" not in str(c.cookies.get("mautic_ctl_session"))


def test_a_trusted_proxy_header_is_required_and_named_as_the_actor(seeded):
    c = client(seeded, trusted_user_header="X-Forwarded-User")
    assert c.get("/").status_code == 401
    pk = dead_pk(seeded)
    headers = {"X-Forwarded-User": "maria@example.com"}
    token = csrf_of(c.get(f"/events/{pk}", headers=headers).text)
    c.post(f"/events/{pk}/retry", data={"csrf": token}, headers=headers)
    conn = sqlite3.connect(seeded)
    assert conn.execute("SELECT actor FROM operator_actions").fetchone()[0] == "dashboard:maria@example.com"
    conn.close()


def test_no_secret_is_ever_rendered(seeded, env):
    from mautic_ctl.services.dashboard import dashboard_app
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.settings import load_settings

    rt = Runtime(load_settings())
    c = TestClient(dashboard_app(rt), base_url="http://127.0.0.1:8788")
    pk = dead_pk(seeded)
    for path in ("/", "/events", f"/events/{pk}", "/users/u1", "/deliveries", "/mautic"):
        page = c.get(path)
        assert page.status_code == 200, path
        assert env["MAUTIC_CLIENT_SECRET"] not in page.text, path
    mautic = c.get("/mautic").text
    assert "mautic: reachable" in mautic and "Mautic 5.1.0" in mautic  # the doctor really called the emulator
    assert "set (hidden)" in mautic  # the secret's variable is named, its value never shown


def test_bind_rule():
    assert bind_problem("127.0.0.1", token=None, trusted_user_header=None) is None
    assert bind_problem("::1", token=None, trusted_user_header=None) is None
    assert "without a token" in bind_problem("0.0.0.0", token=None, trusted_user_header=None)
    assert bind_problem("0.0.0.0", token="t", trusted_user_header=None) is None
    assert bind_problem("10.0.0.5", token=None, trusted_user_header="X-Forwarded-User") is None


def test_dashboard_refuses_a_public_bind_without_a_token(env):
    from tests.helpers import run_installed

    res = run_installed(["dashboard", "--host", "0.0.0.0", "--port", "8"], env, timeout=30)
    assert res.code == 2
    assert res.stderr.startswith("error: refusing to serve the dashboard on 0.0.0.0 without a token")
    assert len(res.stderr.splitlines()) == 1


def test_webhook_serve_mounts_the_dashboard(env, db_path):
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.services.serve import build_app
    from mautic_ctl.settings import load_settings

    rt = Runtime(load_settings())
    app, recorder, _drain = build_app(rt, apply=False, dashboard=True)
    try:
        c = TestClient(app, base_url="http://127.0.0.1:8787")
        page = c.get("/dashboard/")
        assert page.status_code == 200 and 'href="/dashboard/events"' in page.text
        assert c.get("/healthz").json() == {"status": "ok"}
    finally:
        recorder.close()


def test_a_users_page_compares_with_mautic_and_fixes_through_the_queue(cli, mautic, env):
    """The user's story on demand: reconcile for one user shows the hand edit, Fix repairs it via the queue."""
    from mautic_ctl.emulator.seed import SEED_SEGMENTS
    from mautic_ctl.services.dashboard import dashboard_app
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.settings import load_settings

    assert cli("signup", "--user-id", "u1", "--email", "ann@example.com").code == 0
    cid = mautic.state.contact_by_email("ann@example.com").id
    with mautic.state.lock:
        mautic.state.segment_remove(SEED_SEGMENTS["free"], cid)  # a marketer removes her from Free Tier
    c = TestClient(dashboard_app(Runtime(load_settings())), base_url="http://127.0.0.1:8788")
    assert 'id="compare"' in c.get("/users/u1").text  # nothing is read from Mautic until asked
    live = c.get("/users/u1/mautic").text
    assert 'id="drift"' in live and "segment:tier:free" in live
    res = c.post("/users/u1/fix", data={"csrf": csrf_of(live)}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/users/u1/mautic?done=fix"
    assert 'id="in-step"' in c.get("/users/u1/mautic").text
    assert SEED_SEGMENTS["free"] in mautic.state.segment_ids_of(cid)
    conn = sqlite3.connect(env["MAUTIC_CTL_DB"])
    assert conn.execute("SELECT action, target FROM operator_actions").fetchall() == [("fix", "user:u1")]
    assert conn.execute("SELECT count(*) FROM events WHERE source = 'reconcile' AND status = 'done'").fetchone()[0] == 1
    conn.close()


def test_the_experiments_page_is_the_report(seeded, env):
    from mautic_ctl.services.dashboard import dashboard_app
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.settings import load_settings

    c = TestClient(dashboard_app(Runtime(load_settings())), base_url="http://127.0.0.1:8788")
    page = c.get("/experiments")
    assert page.status_code == 200 and "95%" in page.text


def test_a_dead_delivery_is_retried_from_the_deliveries_page(cli, mautic, env, tmp_path, monkeypatch, capsys):
    """A Stripe delivery dead for an unmapped price; once the map is fixed, Retry on the page records it."""
    from mautic_ctl.services.dashboard import dashboard_app
    from mautic_ctl.services.runtime import Runtime
    from mautic_ctl.settings import load_settings

    config = tmp_path / "c.toml"
    config.write_text('[stripe]\nwebhook_secret = "whsec_dash"\n[stripe.tiers]\nprice_pro = "pro"\n')
    config.chmod(0o600)
    sim = cli("simulate", "stripe", "customer.subscription.created", "--config", str(config),
              "--email", "dead@example.com", "--user-id", "u_dead", "--to", "pro")  # fmt: skip
    assert sim.code == 0
    body = tmp_path / "body.json"
    body.write_text(sim.stdout.replace("price_pro", "price_team"))
    assert cli("ingest", "stripe", str(body), "--config", str(config), "--json").json()["dead"] == 1

    fixed = tmp_path / "f.toml"
    fixed.write_text(config.read_text() + 'price_team = "pro"\n')
    fixed.chmod(0o600)
    c = TestClient(dashboard_app(Runtime(load_settings(fixed))), base_url="http://127.0.0.1:8788")
    page = c.get("/deliveries", params={"outcome": "dead"}).text
    assert "price_team" in page and 'class="retry-delivery"' in page
    res = c.post("/deliveries/1/retry", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert res.status_code == 303
    after = c.get("/deliveries").text
    assert "status-recorded" in after and 'class="retry-delivery"' not in after
    conn = sqlite3.connect(env["MAUTIC_CTL_DB"])
    assert conn.execute("SELECT action, target, detail FROM operator_actions").fetchall() == [
        ("retry", "delivery:1", "recorded")
    ]
    conn.close()
