"""MemoryRecorder: the executable contract of the Recorder the store implements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_ctl.errors import InputError
from mautic_ctl.events import EventKind, build_event
from mautic_ctl.webhooks import Delivery, MemoryRecorder, RecordStatus


@pytest.fixture
def recorder(stripe_cfg, ls_cfg, vocab):
    return MemoryRecorder({"stripe": stripe_cfg, "lemonsqueezy": ls_cfg}, vocab)


def delivery(load, provider, name, now):
    payload, raw = load(provider, name)
    return Delivery(provider, raw, payload, now)


def test_records_event_then_recognises_duplicate(recorder, load, now):
    """The first delivery is recorded; the identical redelivery is a duplicate with the same event id."""
    recorder.state.add_user("u_1001", email="ada@example.com", tier="pro")
    first = recorder.record(delivery(load, "stripe", "customer.subscription.deleted", now))
    again = recorder.record(delivery(load, "stripe", "customer.subscription.deleted", now))
    assert (first.status, again.status) == (RecordStatus.RECORDED, RecordStatus.DUPLICATE)
    assert first.event_id == again.event_id == "evt_1Ph07gLkdIwHu7ixDeleted001"
    assert len(recorder.events) == 1


def test_duplicate_does_not_touch_state(recorder, load, now):
    """A redelivery is recognised by its key before normalising: remembered state is not rewritten."""
    recorder.record(delivery(load, "lemonsqueezy", "subscription_created", now))
    recorder.state.subscriptions.clear()
    assert recorder.record(delivery(load, "lemonsqueezy", "subscription_created", now)).status is RecordStatus.DUPLICATE
    assert recorder.state.subscriptions == {}


def test_ignored_and_waiting_are_recorded_with_reasons(recorder, load, now):
    """Ignored and waiting deliveries are stored (and deduplicated) with their reasons."""
    ignored = recorder.record(delivery(load, "stripe", "customer.created", now))
    waiting = recorder.record(delivery(load, "lemonsqueezy", "subscription_created_email_only", now))
    assert ignored.status is RecordStatus.IGNORED and "customer.created" in ignored.reason
    assert waiting.status is RecordStatus.WAITING and "no product user" in waiting.reason
    redelivered = recorder.record(delivery(load, "lemonsqueezy", "subscription_created_email_only", now))
    assert redelivered.status is RecordStatus.DUPLICATE and redelivered.reason == waiting.reason


def test_not_a_webhook_raises_input_error(recorder, now):
    """A body that has no delivery key raises InputError (the receiver answers 400)."""
    with pytest.raises(InputError):
        recorder.record(Delivery("stripe", b"[]", [], now))


def test_record_events_dedupes_by_event_id(recorder, vocab, now):
    """Product events are recorded once per event id."""
    event = build_event(EventKind.SIGNUP, vocab, user_id="u1", email="a@example.com", event_id="app-1", now=now)
    outcomes = recorder.record_events([event, event])
    assert [o.status for o in outcomes] == [RecordStatus.RECORDED, RecordStatus.DUPLICATE]


def test_failure_raises_and_records_nothing(recorder, load, now):
    """When storage fails the recorder raises (the receiver answers 503) and nothing is kept."""
    recorder.fail_with = OSError("disk I/O error")
    with pytest.raises(OSError):
        recorder.record(delivery(load, "stripe", "invoice.paid", datetime(2025, 1, 1, tzinfo=UTC)))
    assert recorder.deliveries == {} and recorder.events == {}
