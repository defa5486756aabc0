"""The HTTP receiver: ``POST /webhooks/stripe``, ``POST /webhooks/lemonsqueezy``, ``POST /events``.

An ASGI app (Starlette) that knows no SQL: recording is the :class:`Recorder`'s job. What it
answers is what the senders act on, so the order matters:

1. read the body (413 above the limit) and verify the signature over the raw bytes (400, nothing
   recorded: a forged delivery must not even reach the queue);
2. decode it and compute its delivery key (400 if it is not a webhook of that provider at all);
3. record it through the recorder, in a worker thread (blocking SQLite must not stall the loop);
4. answer 200 only after the recorder returned, i.e. committed. If it raised, answer 503 so
   Stripe/LemonSqueezy retry later: a delivery is never acknowledged without being stored.

Applying the recorded events to Mautic is the queue worker's job, not this app's; ``on_recorded``
lets the caller nudge a background worker after the response is sent.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mautic_ctl.errors import InputError
from mautic_ctl.events import MAX_INPUT_BYTES, Event, Vocabulary, event_from_json, iter_json_records
from mautic_ctl.webhooks.delivery import SIGNATURE_HEADERS, delivery_key, parse_payload, verify_signature
from mautic_ctl.webhooks.model import LEMONSQUEEZY, STRIPE, ProviderConfig
from mautic_ctl.webhooks.recording import Delivery, Recorder, RecordOutcome, RecordStatus

log = logging.getLogger(__name__)

MAX_BODY_BYTES = MAX_INPUT_BYTES  # 1 MB: a real webhook is a few kB


class _TooLarge(Exception):
    pass


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (without reading it all) anything larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_webhook_app(
    *,
    stripe: ProviderConfig,
    lemonsqueezy: ProviderConfig,
    events_token: str | None,
    recorder: Recorder,
    vocab: Vocabulary,
    clock: Callable[[], float] = time.time,
    on_recorded: Callable[[RecordOutcome], None] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """Build the receiver app.

    :param stripe, lemonsqueezy: each provider's secret (a provider without one answers 503, so
        its deliveries wait at the sender until it is configured) and tier map.
    :param events_token: the bearer token ``POST /events`` requires; None disables the route.
    :param recorder: durable recording; its calls run in a worker thread.
    :param vocab: what ``POST /events`` bodies are validated against.
    :param clock: Unix time now (the Stripe timestamp tolerance is measured against it).
    :param on_recorded: called after the response for each newly recorded event (e.g. to wake a
        background `--apply` worker); it must not be what makes the event durable.
    :param max_body_bytes: larger bodies are refused with 413 (never above MAX_INPUT_BYTES, which
        the JSON decoding enforces anyway).
    """
    max_body_bytes = min(max_body_bytes, MAX_INPUT_BYTES)
    configs = {STRIPE: stripe, LEMONSQUEEZY: lemonsqueezy}

    def _after(outcomes: list[RecordOutcome]) -> BackgroundTask | None:
        fresh = [o for o in outcomes if o.status is RecordStatus.RECORDED or o.woken]
        if on_recorded is None or not fresh:
            return None

        def notify() -> None:
            for outcome in fresh:
                on_recorded(outcome)

        return BackgroundTask(notify)

    def receiver(provider: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        cfg, header_name = configs[provider], SIGNATURE_HEADERS[provider]

        async def webhook(request: Request) -> JSONResponse:
            if not cfg.secret:
                return _error(503, f"{provider} webhooks are not configured (no signing secret); retry later.")
            try:
                raw = await _read_body(request, max_body_bytes)
            except _TooLarge:
                return _error(413, f"the body is larger than {max_body_bytes} bytes.")
            header = request.headers.get(header_name)
            try:
                verify_signature(provider, raw, header, cfg, now=clock())
                payload = parse_payload(raw)
                delivery_key(provider, payload, raw)
            except InputError as exc:  # SignatureError included: nothing is recorded
                log.warning("refused a %s delivery: %s", provider, exc.message)
                return _error(400, exc.message)
            delivery = Delivery(
                provider=provider,
                raw=raw,
                payload=payload,
                received_at=datetime.fromtimestamp(clock(), UTC),
                headers={header_name: header or ""},
            )
            try:
                outcome = await run_in_threadpool(recorder.record, delivery)
            except InputError as exc:  # the recorder found the body unusable: a retry cannot help
                return _error(400, exc.message)
            except Exception:  # storage failed: make the sender retry, never acknowledge
                log.exception("could not record a %s delivery", provider)
                return _error(503, "the delivery could not be stored; retry later.")
            return JSONResponse(outcome.to_dict(), background=_after([outcome]))

        return webhook

    async def events(request: Request) -> JSONResponse:
        if not events_token:
            return _error(503, "POST /events is not configured (no events token).")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode("utf-8", "replace"), events_token.encode("utf-8")
        ):
            return _error(401, "a valid bearer token is required.", **{"WWW-Authenticate": "Bearer"})
        try:
            raw = await _read_body(request, max_body_bytes)
        except _TooLarge:
            return _error(413, f"the body is larger than {max_body_bytes} bytes.")
        try:
            parsed = _parse_events(raw, vocab, datetime.fromtimestamp(clock(), UTC))
        except InputError as exc:
            return _error(400, exc.message)
        try:
            outcomes = await run_in_threadpool(recorder.record_events, parsed)
        except InputError as exc:
            return _error(400, exc.message)
        except Exception:
            log.exception("could not record %d product events", len(parsed))
            return _error(503, "the events could not be stored; retry later.")
        body = {
            "status": "recorded",
            "recorded": sum(o.status is RecordStatus.RECORDED for o in outcomes),
            "duplicates": sum(o.status is RecordStatus.DUPLICATE for o in outcomes),
            "results": [o.to_dict() for o in outcomes],
        }
        return JSONResponse(body, background=_after(outcomes))

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/webhooks/stripe", receiver(STRIPE), methods=["POST"]),
            Route("/webhooks/lemonsqueezy", receiver(LEMONSQUEEZY), methods=["POST"]),
            Route("/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def _parse_events(raw: bytes, vocab: Vocabulary, now: datetime) -> list[Event]:
    """The product's events: one JSON object, an array, or JSONL; all valid or none recorded.

    Each needs an ``event_id``: an HTTP sender retries on timeouts, and without an id a retried
    POST could not be told apart from a second, real event.
    """
    events = []
    for position, value in iter_json_records(raw):
        where = f"event {position}"
        if isinstance(value, dict) and value.get("event_id") in (None, ""):
            raise InputError(f"{where}: an event_id is required, so a retried POST is not recorded twice.")
        try:
            events.append(event_from_json(value, vocab, now=now, source="http"))
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}") from None
    if not events:
        raise InputError("the body holds no event.")
    return events
