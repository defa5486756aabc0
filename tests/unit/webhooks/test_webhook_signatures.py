"""Signature verification with real HMACs computed here (nothing mocked)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mautic_ctl.errors import ConfigError, InputError
from mautic_ctl.webhooks.signatures import (
    SignatureError,
    sign_lemonsqueezy,
    sign_stripe,
    verify_lemonsqueezy,
    verify_stripe,
)

SECRET = "whsec_test_5f1c2d3e4a"
LS_SECRET = "ls-signing-secret-7b9"
BODY = b'{\n  "id": "evt_1PgX21LkdIwHu7ixCreated01",\n  "object": "event"\n}'
T = 1_735_725_600


def stripe_v1(body: bytes, secret: str, t: int) -> str:
    """Stripe's documented scheme, written out independently of the code under test."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


# --- Stripe --------------------------------------------------------------------------------------


def test_stripe_valid_signature_returns_timestamp():
    """A header signed with the endpoint secret over "{t}.{body}" verifies and yields t."""
    header = f"t={T},v1={stripe_v1(BODY, SECRET, T)}"
    assert verify_stripe(BODY, header, SECRET, now=T + 5) == T


def test_sign_stripe_matches_documented_scheme():
    """sign_stripe produces exactly the documented t=…,v1=… header."""
    assert sign_stripe(BODY, SECRET, T) == f"t={T},v1={stripe_v1(BODY, SECRET, T)}"


def test_stripe_wrong_secret_rejected():
    """A signature made with another secret does not verify."""
    header = f"t={T},v1={stripe_v1(BODY, 'whsec_other', T)}"
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify_stripe(BODY, header, SECRET, now=T)


def test_stripe_tampered_body_rejected():
    """Changing one byte of the body invalidates the signature."""
    header = sign_stripe(BODY, SECRET, T)
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify_stripe(BODY.replace(b"event", b"evenT"), header, SECRET, now=T)


def test_stripe_reformatted_body_rejected():
    """Re-serialising the JSON (same data, other bytes) invalidates the signature: raw bytes count."""
    import json

    header = sign_stripe(BODY, SECRET, T)
    with pytest.raises(SignatureError):
        verify_stripe(json.dumps(json.loads(BODY)).encode(), header, SECRET, now=T)


def test_stripe_expired_timestamp_rejected():
    """A valid signature older than the tolerance is refused as a possible replay."""
    header = sign_stripe(BODY, SECRET, T)
    with pytest.raises(SignatureError, match="301 s from now, beyond the 300 s tolerance"):
        verify_stripe(BODY, header, SECRET, now=T + 301)


def test_stripe_future_timestamp_rejected():
    """A timestamp too far in the future is refused as well."""
    header = sign_stripe(BODY, SECRET, T)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_stripe(BODY, header, SECRET, now=T - 1000)


def test_stripe_timestamp_at_tolerance_edge_accepted():
    """Exactly tolerance seconds old is still accepted."""
    assert verify_stripe(BODY, sign_stripe(BODY, SECRET, T), SECRET, now=T + 300) == T


def test_stripe_tolerance_is_configurable_and_can_be_disabled():
    """A tighter tolerance rejects sooner; tolerance None accepts an old but genuine signature."""
    header = sign_stripe(BODY, SECRET, T)
    with pytest.raises(SignatureError):
        verify_stripe(BODY, header, SECRET, now=T + 61, tolerance_s=60)
    assert verify_stripe(BODY, header, SECRET, now=T + 86_400 * 30, tolerance_s=None) == T


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_stripe_any_of_several_v1_accepted(position):
    """With several v1 values (secret roll), any one matching is enough."""
    good = stripe_v1(BODY, SECRET, T)
    others = [stripe_v1(BODY, f"whsec_old_{i}", T) for i in range(2)]
    values = {"first": [good, *others], "middle": [others[0], good, others[1]], "last": [*others, good]}[position]
    header = f"t={T}," + ",".join(f"v1={v}" for v in values)
    assert verify_stripe(BODY, header, SECRET, now=T) == T


def test_stripe_several_v1_none_matching_rejected():
    """Several v1 values, none made with our secret: rejected."""
    header = f"t={T}," + ",".join(f"v1={stripe_v1(BODY, f'whsec_{i}', T)}" for i in range(3))
    with pytest.raises(SignatureError):
        verify_stripe(BODY, header, SECRET, now=T)


def test_stripe_v0_only_rejected():
    """A header with only a v0 (test-mode legacy scheme) signature has no v1 to check."""
    header = f"t={T},v0={stripe_v1(BODY, SECRET, T)}"
    with pytest.raises(SignatureError, match="no v1"):
        verify_stripe(BODY, header, SECRET, now=T)


def test_stripe_extra_schemes_and_spaces_tolerated():
    """Unknown schemes and spaces after commas do not prevent verification."""
    header = f"t={T}, v0=deadbeef, v1={stripe_v1(BODY, SECRET, T)}"
    assert verify_stripe(BODY, header, SECRET, now=T) == T


@pytest.mark.parametrize("header", [None, "", "   "])
def test_stripe_missing_header_rejected(header):
    """No Stripe-Signature header: rejected with a clear sentence."""
    with pytest.raises(SignatureError, match="header is missing"):
        verify_stripe(BODY, header, SECRET, now=T)


@pytest.mark.parametrize(
    "header",
    ["v1=abc", "t=abc,v1=abc", "garbage", "t=,v1=abc", "t=-5,v1=abc", "t=１２３,v1=abc"],
)
def test_stripe_malformed_header_rejected(header):
    """A header without a numeric t is malformed."""
    with pytest.raises(SignatureError, match="malformed"):
        verify_stripe(BODY, header, SECRET, now=T)


def test_stripe_errors_never_reveal_secret_or_expected_signature():
    """Failure messages contain neither the secret nor the signature we expected."""
    expected = stripe_v1(BODY, SECRET, T)
    for header, now in [(f"t={T},v1=00", T), (sign_stripe(BODY, SECRET, T), T + 10_000)]:
        with pytest.raises(SignatureError) as info:
            verify_stripe(BODY, header, SECRET, now=now)
        assert SECRET not in str(info.value) and expected not in str(info.value)


def test_signature_error_is_an_input_error():
    """A bad signature maps to the InputError exit code (2), nothing recorded."""
    assert issubclass(SignatureError, InputError)
    assert SignatureError().exit_code == 2


def test_empty_secret_is_a_config_error():
    """An empty secret would make every signature forgeable: it is refused outright."""
    with pytest.raises(ConfigError):
        verify_stripe(BODY, f"t={T},v1=00", "", now=T)
    with pytest.raises(ConfigError):
        verify_lemonsqueezy(BODY, "00", "")


# --- LemonSqueezy --------------------------------------------------------------------------------


def ls_sig(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_lemonsqueezy_valid_signature():
    """X-Signature = hex HMAC-SHA256 of the raw body verifies; sign_lemonsqueezy computes it."""
    verify_lemonsqueezy(BODY, ls_sig(BODY, LS_SECRET), LS_SECRET)
    assert sign_lemonsqueezy(BODY, LS_SECRET) == ls_sig(BODY, LS_SECRET)


def test_lemonsqueezy_uppercase_hex_accepted():
    """Hex case does not matter."""
    verify_lemonsqueezy(BODY, ls_sig(BODY, LS_SECRET).upper(), LS_SECRET)


def test_lemonsqueezy_wrong_secret_rejected():
    """A signature made with another secret does not verify."""
    with pytest.raises(SignatureError, match="does not match"):
        verify_lemonsqueezy(BODY, ls_sig(BODY, "other"), LS_SECRET)


def test_lemonsqueezy_tampered_body_rejected():
    """Changing the body invalidates the signature."""
    with pytest.raises(SignatureError):
        verify_lemonsqueezy(BODY + b" ", ls_sig(BODY, LS_SECRET), LS_SECRET)


@pytest.mark.parametrize("header", [None, ""])
def test_lemonsqueezy_missing_header_rejected(header):
    """No X-Signature header: rejected."""
    with pytest.raises(SignatureError, match="missing"):
        verify_lemonsqueezy(BODY, header, LS_SECRET)


def test_lemonsqueezy_error_never_reveals_secret():
    """The mismatch message does not contain the secret or the expected signature."""
    with pytest.raises(SignatureError) as info:
        verify_lemonsqueezy(BODY, "00", LS_SECRET)
    assert LS_SECRET not in str(info.value) and ls_sig(BODY, LS_SECRET) not in str(info.value)


# --- never crash ---------------------------------------------------------------------------------


@given(raw=st.binary(max_size=300), header=st.one_of(st.none(), st.text(max_size=300)), now=st.floats())
def test_verify_stripe_only_raises_signature_error(raw, header, now):
    """Arbitrary bodies, headers and clocks: verify_stripe returns or raises SignatureError only."""
    with contextlib.suppress(SignatureError):
        verify_stripe(raw, header, SECRET, now=now)


@given(raw=st.binary(max_size=300), header=st.one_of(st.none(), st.text(max_size=300)))
def test_verify_lemonsqueezy_only_raises_signature_error(raw, header):
    """Arbitrary bodies and headers: verify_lemonsqueezy returns or raises SignatureError only."""
    with contextlib.suppress(SignatureError):
        verify_lemonsqueezy(raw, header, LS_SECRET)


@given(raw=st.binary(max_size=300), t=st.integers(min_value=0, max_value=10**11))
def test_stripe_sign_verify_roundtrip(raw, t):
    """Whatever the body, what sign_stripe signs verify_stripe accepts."""
    assert verify_stripe(raw, sign_stripe(raw, SECRET, t), SECRET, now=t) == t
