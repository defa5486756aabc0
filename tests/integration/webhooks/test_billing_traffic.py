"""Issue 11, end to end: real Stripe / LemonSqueezy Events signed and POSTed over real HTTP to the receiver
(in-process, on a loopback port), recorded in SQLite, drained into the emulator.

The Stripe Events are the real ones under tests/unit/webhooks/fixtures/stripe (API 2025 basil, and
2024-06-20 for customer.created) with their ids, prices, times and livemode set per story. Each of the
nine numbered problems of the issue has a test named after it.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mautic_ctl.events import EventKind, build_event
from mautic_ctl.services.billing import retry_deliveries
from mautic_ctl.services.drain import run_drain
from mautic_ctl.services.record import record_many
from mautic_ctl.services.runtime import Runtime
from mautic_ctl.services.serve import build_app
from mautic_ctl.settings import load_settings
from mautic_ctl.webhooks.signatures import sign_lemonsqueezy, sign_stripe
from tests.helpers import AppServer, contact_view, run_installed
from tests.integration.webhooks.conftest import write_config

FIXTURES = Path(__file__).parents[2] / "unit" / "webhooks" / "fixtures"
SECRET, LS_SECRET = "whsec_traffic", "ls_traffic"
TIERS = {"price_free": "free", "price_pro": "pro", "price_ent": "enterprise"}
CONFIG = f"""
[stripe]
webhook_secret = "{SECRET}"
[stripe.tiers]
{chr(10).join(f'{k} = "{v}"' for k, v in TIERS.items())}
[lemonsqueezy]
signing_secret = "{LS_SECRET}"
[lemonsqueezy.tiers]
"301111" = "free"
"301222" = "pro"
"""
T0 = int(datetime.now(UTC).timestamp()) - 3600  # whole seconds, as Stripe's `created`


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def subscription(
    evt: str,
    kind: str,
    created: int,
    *,
    sub: str,
    customer: str,
    price: str,
    status: str = "active",
    metadata: dict[str, str] | None = None,
    previous: dict[str, Any] | None = None,
    livemode: bool = True,
) -> dict[str, Any]:
    """The real basil customer.subscription.updated Event, retold for this story."""
    event = _fixture("stripe/basil/customer.subscription.updated.json")
    event.update(id=evt, type=f"customer.subscription.{kind}", created=created, livemode=livemode)
    obj = event["data"]["object"]
    obj.update(id=sub, customer=customer, status=status, metadata=metadata or {}, livemode=livemode)
    obj["plan"]["id"] = price
    item = obj["items"]["data"][0]
    item.update(subscription=sub, current_period_start=created)
    item["price"]["id"] = item["plan"]["id"] = price
    if kind == "deleted":
        obj.update(status="canceled", canceled_at=created, ended_at=created)
    if previous is None:
        del event["data"]["previous_attributes"]
    else:
        event["data"]["previous_attributes"] = previous
    return event


def checkout(evt: str, created: int, *, user: str, customer: str, sub: str, email: str) -> dict[str, Any]:
    event = _fixture("stripe/basil/checkout.session.completed.json")
    event.update(id=evt, created=created, livemode=True)
    event["data"]["object"].update(client_reference_id=user, customer=customer, subscription=sub, livemode=True)
    event["data"]["object"]["customer_details"]["email"] = email
    return event


def customer_created(evt: str, created: int, *, customer: str, email: str, user: str | None = None) -> dict[str, Any]:
    event = _fixture("stripe/customer.created.json")
    event.update(id=evt, created=created, livemode=True)
    event["data"]["object"].update(id=customer, email=email, metadata={"user_id": user} if user else {}, livemode=True)
    return event


def invoice(evt: str, kind: str, created: int, *, invoice_id: str, customer: str, sub: str, email: str, cents: int):
    event = _fixture("stripe/basil/invoice.payment_succeeded.json")
    event.update(id=evt, type=kind, created=created)
    obj = event["data"]["object"]
    obj.update(id=invoice_id, customer=customer, customer_email=email, amount_paid=cents, currency="usd")
    obj["parent"]["subscription_details"]["subscription"] = sub
    return event


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", CONFIG)


def post(url: str, event: dict[str, Any]) -> dict[str, Any]:
    """Sign now (Stripe signs each attempt when it sends it) and POST; the receiver's answer."""
    body = json.dumps(event, indent=2).encode()
    headers = {"Stripe-Signature": sign_stripe(body, SECRET, int(time.time())), "Content-Type": "application/json"}
    res = httpx.post(url + "/webhooks/stripe", content=body, headers=headers, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()


def drain(rt: Runtime) -> None:
    report = run_drain(rt, rt.drain_options())
    assert report.dead == 0 and report.retried == 0, report.outcomes


def signup(rt: Runtime, user: str, email: str, at: datetime) -> None:
    vocab = rt.settings.vocabulary()
    event = build_event(EventKind.SIGNUP, vocab, user_id=user, email=email, tier="free", occurred_at=at, now=at)
    record_many(rt.conn, [event])


def outcomes(rt: Runtime) -> dict[str, str]:
    return dict(rt.conn.execute("SELECT delivery_id, outcome FROM deliveries").fetchall())


# --- 1. a Stripe-first user -------------------------------------------------------------------------


STORY = {
    "checkout": checkout("evt_1Cs", T0, user="u_sf", customer="cus_SF", sub="sub_SF", email="first@example.com"),
    "customer": customer_created("evt_1Cu", T0 + 1, customer="cus_SF", email="first@example.com"),
    "subscription": subscription("evt_1Su", "created", T0 + 2, sub="sub_SF", customer="cus_SF", price="price_pro"),
}


@pytest.mark.parametrize("order", list(itertools.permutations(STORY)), ids="-".join)
def test_problem_1_stripe_first_user_in_every_arrival_order(rt, receiver, mautic, order):
    """checkout -> customer -> subscription, in any order: the subscription waits (never dead) until it can
    be resolved, then one signup creates the contact on pro with the welcome and onboarding campaigns."""
    waits = order.index("subscription") < order.index("checkout")
    answers = [post(receiver, STORY[name]) for name in order]
    assert answers[order.index("subscription")]["status"] == ("waiting" if waits else "recorded")
    # the delivery that resolved it says so (and nudges `webhook serve --apply`)
    assert sum(a.get("woken", 0) for a in answers) == (1 if waits else 0)
    assert outcomes(rt)["evt_1Su"] == "recorded"
    drain(rt)
    view = contact_view(mautic, "first@example.com")
    assert view is not None and {"new_users", "pro"} <= view.segments
    assert {"welcome", "onboarding_pro"} <= view.campaigns
    assert (view.fields["subscription_tier"], view.fields["subscription_status"]) == ("pro", "active")


def test_problem_1_metadata_user_id_without_email_waits_for_the_customer(rt, receiver, mautic):
    """metadata.user_id but no email known: waiting (not dead); customer.created tells the email."""
    sub = subscription("evt_1W", "created", T0, sub="sub_W", customer="cus_W", price="price_pro",
                       metadata={"user_id": "u_w"})  # fmt: skip
    assert post(receiver, sub)["status"] == "waiting"
    assert (
        post(receiver, customer_created("evt_1WC", T0 + 5, customer="cus_W", email="w@example.com"))["status"]
        == "ignored"
    )
    assert outcomes(rt)["evt_1W"] == "recorded"
    drain(rt)
    assert "pro" in contact_view(mautic, "w@example.com").segments


def test_waiting_delivery_goes_dead_after_the_wait_window(rt, receiver, mautic, config, tmp_path):
    """Unresolvable and nothing links it within [billing] wait: dead, with the reason it waited for."""
    short = write_config(tmp_path / "short.toml", CONFIG + '\n[billing]\nwait = "1s"\n')
    app, recorder, _ = build_app(Runtime(load_settings(short)))
    server = AppServer(app)
    try:
        sub = subscription("evt_1X", "created", T0, sub="sub_X", customer="cus_X", price="price_pro")
        assert post(server.url, sub)["status"] == "waiting"
        time.sleep(1.2)
        post(server.url, customer_created("evt_1Y", T0, customer="cus_other", email="o@example.com"))
    finally:
        server.stop()
        recorder.close()
    reason = rt.conn.execute("SELECT reason FROM deliveries WHERE delivery_id = 'evt_1X'").fetchone()[0]
    assert outcomes(rt)["evt_1X"] == "dead" and reason.startswith("waited 1 s for its user to become known")


# --- 2. dead deliveries can be re-processed -----------------------------------------------------------


def test_problem_2_dead_delivery_is_retried_after_the_fix(rt, receiver, mautic, config, env):
    """A price missing from the tier map: dead. Re-sending is a duplicate; after mapping the price,
    `webhook retry --all-dead` turns it into an event that lands."""
    signup(rt, "u_d", "d@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    event = subscription("evt_1D", "updated", T0, sub="sub_D", customer="cus_D", price="price_team",
                         metadata={"user_id": "u_d"})  # fmt: skip
    assert post(receiver, event)["status"] == "dead"
    assert post(receiver, event)["status"] == "duplicate"
    fixed = write_config(
        config.parent / "fixed.toml", CONFIG.replace("[lemonsqueezy]", 'price_team = "enterprise"\n[lemonsqueezy]')
    )
    results = retry_deliveries(Runtime(load_settings(fixed)), [], all_dead=True)
    assert [r["status"] for r in results] == ["recorded"]
    drain(rt)
    view = contact_view(mautic, "d@example.com")
    assert "enterprise" in view.segments and "onboarding_enterprise" in view.campaigns


# --- 3. an explicit id beats a remembered customer link ---------------------------------------------------


def test_problem_3_reused_customer_follows_the_explicit_user_and_conflicts_are_dead(rt, receiver, mautic):
    """A customer reused for a second user: metadata.user_id decides. A subscription never moves."""
    for user in ("u_a", "u_b"):
        signup(rt, user, f"{user}@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    first = subscription("evt_1A", "created", T0, sub="sub_A", customer="cus_R", price="price_pro",
                         metadata={"user_id": "u_a"})  # fmt: skip
    second = subscription("evt_1B", "created", T0 + 10, sub="sub_B", customer="cus_R", price="price_ent",
                          metadata={"user_id": "u_b"})  # fmt: skip
    assert post(receiver, first)["status"] == post(receiver, second)["status"] == "recorded"
    drain(rt)
    assert "pro" in contact_view(mautic, "u_a@example.com").segments
    assert "enterprise" in contact_view(mautic, "u_b@example.com").segments
    moved = subscription("evt_1M", "updated", T0 + 20, sub="sub_A", customer="cus_R", price="price_ent",
                         metadata={"user_id": "u_b"})  # fmt: skip
    answer = post(receiver, moved)
    assert answer["status"] == "dead" and "'u_a'" in answer["reason"] and "'u_b'" in answer["reason"]


# --- 4. the tier comes from the snapshot --------------------------------------------------------------


def test_problem_4_update_without_a_plan_diff_takes_the_current_price(rt, receiver, mautic):
    """An update naming an enterprise price, previous_attributes without a plan: enterprise."""
    signup(rt, "u_e", "e@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    update = subscription("evt_1E", "updated", T0, sub="sub_E", customer="cus_E", price="price_ent",
                          metadata={"user_id": "u_e"}, previous={"metadata": {}})  # fmt: skip
    post(receiver, update)
    drain(rt)
    assert contact_view(mautic, "e@example.com").fields["subscription_tier"] == "enterprise"


def test_problem_4_past_due_update_before_the_created_event(rt, receiver, mautic):
    """updated (active -> past_due, created T+100) before created (T): Pro and past_due."""
    signup(rt, "u_p", "p@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    meta = {"user_id": "u_p"}
    created = subscription("evt_1PC", "created", T0, sub="sub_P", customer="cus_P", price="price_pro", metadata=meta)
    updated = subscription("evt_1PU", "updated", T0 + 100, sub="sub_P", customer="cus_P", price="price_pro",
                           status="past_due", metadata=meta, previous={"status": "active"})  # fmt: skip
    assert post(receiver, updated)["status"] == "recorded"
    assert post(receiver, created) | {"reason": None} == {
        "status": "superseded", "delivery_id": "evt_1PC", "superseded_by": "evt_1PU", "reason": None
    }  # fmt: skip
    drain(rt)
    view = contact_view(mautic, "p@example.com")
    assert (view.fields["subscription_tier"], view.fields["subscription_status"]) == ("pro", "past_due")
    assert "pro" in view.segments and "onboarding_pro" in view.campaigns


@pytest.mark.parametrize("order", list(itertools.permutations(("created", "updated", "deleted"))), ids="-".join)
def test_out_of_order_created_updated_deleted_end_in_the_newest_state(rt, receiver, mautic, order):
    """Every arrival order of created (T) / updated to pro (T+60) / deleted (T+120): cancelled, churned."""
    signup(rt, "u_o", "o@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    meta = {"user_id": "u_o"}
    events = {
        "created": subscription("evt_1OC", "created", T0, sub="sub_O", customer="cus_O", price="price_free",
                                metadata=meta),
        "updated": subscription("evt_1OU", "updated", T0 + 60, sub="sub_O", customer="cus_O", price="price_pro",
                                metadata=meta, previous={"items": {"data": []}}),
        "deleted": subscription("evt_1OD", "deleted", T0 + 120, sub="sub_O", customer="cus_O", price="price_pro",
                                metadata=meta),
    }  # fmt: skip
    for name in order:
        post(receiver, events[name])
        drain(rt)
    view = contact_view(mautic, "o@example.com")
    assert view.fields["subscription_status"] == "cancelled" and "churned" in view.segments
    assert "pro" not in view.segments
    assert outcomes(rt)["evt_1OD"] == "recorded"


# --- 5. the product's clock and Stripe's are different streams ----------------------------------------------


def test_problem_5_twenty_signups_then_twenty_upgrades_in_the_same_second(rt, receiver, mautic):
    """20 CLI signups, then 20 free->pro updates whose Stripe `created` is the same whole second: all pro."""
    second = int(time.time()) - 30
    for i in range(20):
        signup(rt, f"u5_{i}", f"five{i}@example.com", datetime.fromtimestamp(second + 0.3 + i / 100, UTC))
    drain(rt)
    for i in range(20):
        event = subscription(f"evt_1F{i}", "updated", second, sub=f"sub_F{i}", customer=f"cus_F{i}",
                             price="price_pro", metadata={"user_id": f"u5_{i}"},
                             previous={"items": {"data": [{"price": {"id": "price_free"}}]}})  # fmt: skip
        assert post(receiver, event)["status"] == "recorded"
    drain(rt)
    for i in range(20):
        view = contact_view(mautic, f"five{i}@example.com")
        assert view.fields["subscription_tier"] == "pro" and "pro" in view.segments, i
    assert rt.conn.execute("SELECT count(*) FROM events WHERE status = 'superseded'").fetchone()[0] == 0


@pytest.mark.parametrize("skew", [-5, 0, 5])
@pytest.mark.parametrize("order", ["signup_first", "upgrade_first"])
def test_signup_and_upgrade_in_the_same_second_end_on_the_paid_tier(rt, receiver, mautic, order, skew):
    """A signup (product clock off by `skew` s) and an upgrade recorded in the same second, either order."""
    second = int(time.time()) - 30
    customer = customer_created("evt_1SC", second - 1, customer="cus_S", email="s@example.com", user="u_s")
    upgrade = subscription("evt_1SU", "created", second, sub="sub_S", customer="cus_S", price="price_pro")
    at = datetime.fromtimestamp(second + 0.5 + skew, UTC)
    if order == "signup_first":
        signup(rt, "u_s", "s@example.com", at)
        drain(rt)
    post(receiver, customer)
    post(receiver, upgrade)
    drain(rt)
    if order == "upgrade_first":
        signup(rt, "u_s", "s@example.com", at)
        drain(rt)
    view = contact_view(mautic, "s@example.com")
    assert view.fields["subscription_tier"] == "pro" and {"pro", "new_users"} <= view.segments
    assert {"welcome", "onboarding_pro"} <= view.campaigns and "free" not in view.segments


# --- 6, 7, 8 -----------------------------------------------------------------------------------------------


def test_problem_6_lemonsqueezy_payer_email_does_not_replace_the_products(rt, receiver, mautic):
    """LemonSqueezy user_email with custom_data.user_id: the contact keeps the product's email."""
    signup(rt, "u_2001", "product@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    payload = json.loads((FIXTURES / "lemonsqueezy" / "subscription_created.json").read_text())
    payload["meta"]["test_mode"] = payload["data"]["attributes"]["test_mode"] = False
    payload["data"]["attributes"]["variant_id"] = 301222
    body = json.dumps(payload).encode()
    res = httpx.post(receiver + "/webhooks/lemonsqueezy", content=body,
                     headers={"X-Signature": sign_lemonsqueezy(body, LS_SECRET)}, timeout=10)  # fmt: skip
    assert res.json()["status"] == "recorded", res.text
    drain(rt)
    assert contact_view(mautic, "grace@example.com") is None
    assert "pro" in contact_view(mautic, "product@example.com").segments


def test_problem_7_test_mode_events_change_no_contact(rt, receiver, mautic):
    """livemode false: recorded as ignored with the reason; no contact is touched."""
    signup(rt, "u_t", "t@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    event = subscription("evt_1T", "updated", T0, sub="sub_T", customer="cus_T", price="price_ent",
                         metadata={"user_id": "u_t"}, livemode=False)  # fmt: skip
    answer = post(receiver, event)
    assert answer["status"] == "ignored" and "accept_test_mode" in answer["reason"]
    drain(rt)
    assert contact_view(mautic, "t@example.com").fields["subscription_tier"] == "free"


def test_problem_8_both_invoice_events_count_once_with_cents(rt, receiver, mautic):
    """invoice.paid and invoice.payment_succeeded of one invoice: 29.90 once, cents kept (scale 2)."""
    field = next(f for f in mautic.state.fields.values() if f.alias == "lifetime_value")
    field.properties = {"scale": "2"}  # as verify-config asks for
    signup(rt, "u_m", "m@example.com", datetime.fromtimestamp(T0 - 60, UTC))
    drain(rt)
    kw = {"invoice_id": "in_1M", "customer": "cus_M", "sub": "sub_M", "email": "m@example.com", "cents": 2990}
    assert post(receiver, invoice("evt_1MP", "invoice.paid", T0, **kw))["status"] == "recorded"
    again = post(receiver, invoice("evt_1MS", "invoice.payment_succeeded", T0, **kw))
    assert again["status"] == "ignored" and "count once" in again["reason"]
    post(receiver, invoice("evt_1MN", "invoice.payment_succeeded", T0 + 30, **{**kw, "invoice_id": "in_2M"}))
    drain(rt)
    assert contact_view(mautic, "m@example.com").fields["lifetime_value"] == pytest.approx(59.80)


def test_problem_8_verify_config_warns_about_a_lifetime_value_field_without_decimals(env, mautic):
    """The seeded lifetime_value is a number field without decimals (as real Mautic creates it): Mautic
    truncates 29.90 to 29 (D1). verify-config warns and says how to fix it (exit 3 with --strict);
    with scale 2 it is quiet."""
    res = run_installed(["verify-config", "--json"], env)
    check = next(c for c in res.json()["checks"] if c["key"] == "lifetime_value")
    assert res.code == 0 and check["warning"] and not check["ok"]
    assert "keeps 0 decimal places" in check["detail"] and '{"properties": {"scale": 2}}' in check["detail"]
    assert "warning: lifetime_value keeps 0 decimal places" in run_installed(["verify-config"], env).stderr
    strict = run_installed(["verify-config", "--strict", "--json"], env)
    assert strict.code == 3
    field = next(f for f in mautic.state.fields.values() if f.alias == "lifetime_value")
    field.properties = {"scale": "2"}
    res = run_installed(["verify-config", "--json"], env)
    assert next(c for c in res.json()["checks"] if c["key"] == "lifetime_value")["ok"]
