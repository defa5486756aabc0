"""Provider-independent entry points: keys, verification dispatch, ingest splitting, never crashing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mautic_ctl.errors import ConfigError, InputError
from mautic_ctl.webhooks import (
    MemoryBillingState,
    Normalised,
    ProviderConfig,
    SignatureError,
    delivery_key,
    normalise_delivery,
    sign_lemonsqueezy,
    sign_stripe,
    split_deliveries,
    verify_signature,
)


def test_delivery_key_stripe_is_event_id(load):
    """Stripe's key is the Event id."""
    payload, raw = load("stripe", "invoice.paid")
    assert delivery_key("stripe", payload, raw) == "evt_1PgX22LkdIwHu7ixInvoice01"


def test_delivery_key_lemonsqueezy_is_body_hash(load):
    """LemonSqueezy's key is ls- + the body's SHA-256, equal to the recorded event id."""
    payload, raw = load("lemonsqueezy", "subscription_created")
    key = delivery_key("lemonsqueezy", payload, raw)
    assert key.startswith("ls-") and len(key) == 67


def test_unknown_provider_is_input_error(load):
    """Only stripe and lemonsqueezy are providers."""
    with pytest.raises(InputError, match="unknown billing provider 'paddle'"):
        delivery_key("paddle", {}, b"{}")


def test_verify_signature_dispatches_per_provider(stripe_cfg, ls_cfg):
    """verify_signature checks each provider's own scheme and the configured tolerance."""
    body = b'{"id":"evt_1"}'
    verify_signature("stripe", body, sign_stripe(body, stripe_cfg.secret, 1000), stripe_cfg, now=1100)
    verify_signature("lemonsqueezy", body, sign_lemonsqueezy(body, ls_cfg.secret), ls_cfg, now=0)
    strict = ProviderConfig(stripe_cfg.secret, {}, tolerance_s=10)
    with pytest.raises(SignatureError):
        verify_signature("stripe", body, sign_stripe(body, stripe_cfg.secret, 1000), strict, now=1100)


def test_verify_signature_without_secret_is_config_error():
    """A provider with no secret configured cannot verify anything: ConfigError, not acceptance."""
    with pytest.raises(ConfigError):
        verify_signature("lemonsqueezy", b"{}", "00", ProviderConfig(None), now=0)


def test_provider_config_repr_hides_secret():
    """The secret never appears in a repr (logs, tracebacks)."""
    assert "whsec_hidden" not in repr(ProviderConfig("whsec_hidden", {"a": "pro"}))


def test_normalise_delivery_dispatches(load, stripe_cfg, ls_cfg, vocab, state, now):
    """normalise_delivery routes to the provider's normaliser with its config."""
    configs = {"stripe": stripe_cfg, "lemonsqueezy": ls_cfg}
    payload, raw = load("stripe", "customer.subscription.deleted")
    assert normalise_delivery("stripe", payload, raw, configs, vocab, state, now).provider == "stripe"
    payload, raw = load("lemonsqueezy", "subscription_expired")
    result = normalise_delivery("lemonsqueezy", payload, raw, configs, vocab, state, now)
    assert result.provider == "lemonsqueezy" and result.event.tier == "cancelled"


def test_normalised_requires_exactly_one_outcome():
    """A Normalised is an event, ignored or dead, never none or two."""
    with pytest.raises(ValueError):
        Normalised("stripe", "evt_1", "x")
    with pytest.raises(ValueError):
        Normalised("stripe", "evt_1", "x", ignored="a", dead="b")


# --- split_deliveries (ingest FILE|-) ---------------------------------------------------------------


def test_split_single_pretty_document_keeps_bytes(load):
    """One pretty-printed payload is one delivery with its bytes untouched (signature still valid)."""
    payload, raw = load("stripe", "invoice.paid")
    assert split_deliveries(raw) == [(raw, payload)]


def test_split_jsonl_stream(load):
    """A JSONL stream is one delivery per non-blank line, each line's bytes its body."""
    a = json.dumps(load("lemonsqueezy", "subscription_created")[0], separators=(",", ":")).encode()
    b = json.dumps(load("lemonsqueezy", "subscription_updated")[0], separators=(",", ":")).encode()
    parts = split_deliveries(a + b"\n\n" + b + b"\n")
    assert [raw for raw, _ in parts] == [a, b]
    assert parts[1][1]["meta"]["event_name"] == "subscription_updated"


def test_split_array_of_deliveries():
    """A JSON array is a list of deliveries."""
    assert [p for _, p in split_deliveries(b'[{"a":1},{"b":2}]')] == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a":1}\nnot json\n', "line 2 is not valid JSON"),
        (b'{"a":1}\n[1]\n', "line 2: each delivery must be a JSON object"),
        (b"", "no webhook delivery"),
        (b"[]", "no webhook delivery"),
        (b"\xff\xfe", "not valid UTF-8"),
    ],
)
def test_split_errors_point_at_the_line(raw, message):
    """Bad input is an InputError naming where."""
    with pytest.raises(InputError, match=message):
        split_deliveries(raw)


# --- never crash ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


@st.composite
def mangled_fixture(draw, provider):
    """A fixture payload with one nested value replaced by arbitrary JSON (the realistic attack surface)."""
    files = sorted((Path(__file__).parent / "fixtures" / provider).glob("*.json"))
    payload = json.loads(draw(st.sampled_from(files)).read_bytes())
    # Walk to a random container inside the payload and replace one of its values.
    node = payload
    for _ in range(draw(st.integers(0, 4))):
        children = [(k, v) for k, v in (node.items() if isinstance(node, dict) else enumerate(node))]
        children = [(k, v) for k, v in children if isinstance(v, dict | list) and v]
        if not children:
            break
        node = draw(st.sampled_from(children))[1]
    keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
    if keys:
        node[draw(st.sampled_from(keys))] = draw(json_values)
    return payload


def _check(provider, payload, raw, stripe_cfg, ls_cfg, vocab, now):
    configs = {"stripe": stripe_cfg, "lemonsqueezy": ls_cfg}
    state = MemoryBillingState()
    state.add_user("u_1001", email="ada@example.com", tier="free")
    try:
        result = normalise_delivery(provider, payload, raw, configs, vocab, state, now)
    except InputError:
        return
    assert isinstance(result, Normalised)
    assert result.outcome in ("event", "ignored", "superseded", "waiting", "dead")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider=st.sampled_from(["stripe", "lemonsqueezy"]), payload=json_values)
def test_normalise_never_crashes_on_arbitrary_json(provider, payload, stripe_cfg, ls_cfg, vocab, now):
    """Any JSON value: normalise_delivery returns a result or raises InputError, nothing else."""
    _check(provider, payload, json.dumps(payload).encode(), stripe_cfg, ls_cfg, vocab, now)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), provider=st.sampled_from(["stripe", "lemonsqueezy"]))
def test_normalise_never_crashes_on_mangled_real_payloads(data, provider, stripe_cfg, ls_cfg, vocab, now):
    """Real payloads with any nested value replaced by junk: a result or InputError, never a crash."""
    payload = data.draw(mangled_fixture(provider))
    _check(provider, payload, json.dumps(payload).encode(), stripe_cfg, ls_cfg, vocab, now)


@settings(max_examples=100)
@given(raw=st.binary(max_size=400))
def test_split_deliveries_only_raises_input_error(raw):
    """Arbitrary bytes given to `ingest`: deliveries or an InputError."""
    try:
        parts = split_deliveries(raw)
    except InputError:
        return
    assert all(isinstance(p, dict) for _, p in parts)
