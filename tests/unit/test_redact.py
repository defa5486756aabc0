"""Redaction: every configured secret, in the forms it travels in, is masked; nothing else is touched."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from mautic_ctl import redact
from mautic_ctl.config import load_quick
from mautic_ctl.settings import load_settings


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    redact.forget()
    yield
    redact.forget()


def test_a_secret_and_its_quoted_and_basic_forms_are_masked():
    redact.remember(["p@ss w/rd+1"], basic=("api-user", "p@ss w/rd+1"))
    basic = base64.b64encode(b"api-user:p@ss w/rd+1").decode()
    text = f"echo p@ss w/rd+1 | p%40ss%20w%2Frd%2B1 | p%40ss+w%2Frd%2B1 | Basic {basic}"
    assert redact.redact(text) == "echo [redacted] | [redacted] | [redacted] | Basic [redacted]"


def test_a_secret_containing_another_is_masked_whole_and_short_values_are_left():
    redact.remember(["abcd", "abcdefgh", "xyz"])
    assert redact.redact("abcdefgh abcd xyz") == "[redacted] [redacted] xyz"


def test_loading_a_configuration_remembers_its_secrets(monkeypatch):
    """Both views register the configured secrets: whichever a command loads, its messages are masked."""
    monkeypatch.setenv("MAUTIC_CLIENT_SECRET", "client-secret-1")
    monkeypatch.setenv("MAUTIC_CTL_STRIPE__WEBHOOK_SECRET", "whsec_abc123")
    load_quick()
    assert redact.redact("client-secret-1 whsec_abc123") == "[redacted] [redacted]"
    redact.forget()
    load_settings()
    assert redact.redact("client-secret-1 whsec_abc123") == "[redacted] [redacted]"
