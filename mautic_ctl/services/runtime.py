"""The runtime every service function shares: settings, one store connection, the Mautic client factory.

``transport`` lets tests and `mautic-ctl demo` run against an in-process emulator.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from mautic_ctl.drain import DrainOptions
from mautic_ctl.mautic.auth import make_auth
from mautic_ctl.mautic.client import MauticClient, RequestRecord
from mautic_ctl.retry import RetryPolicy
from mautic_ctl.settings import Settings
from mautic_ctl.store import connect, connect_read_only


@dataclass
class Runtime:
    """What every service function needs; built once per command by the CLI."""

    settings: Settings
    transport: httpx.AsyncBaseTransport | None = None
    trace: Callable[[RequestRecord], None] | None = None  # -v: each Mautic call, as it happens
    read_only: bool = False  # --dry-run: the queue file is opened read-only and never created
    _conn: sqlite3.Connection | None = field(default=None, repr=False)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = (
                connect_read_only(self.settings.queue.db) if self.read_only else connect(self.settings.queue.db)
            )
        return self._conn

    def client(self, on_request: Callable[[RequestRecord], None] | None = None) -> MauticClient:
        m = self.settings.require_mautic()
        assert m.base_url is not None
        auth = make_auth(
            m.base_url,
            username=m.username,
            password=m.password,
            client_id=m.client_id,
            client_secret=m.client_secret,
        )
        return MauticClient(
            m.base_url,
            auth=auth,
            timeout=m.timeout,
            verify=m.verify_tls,
            max_connections=m.max_connections,
            retry_attempts=m.http_retries,
            batch_limit=m.batch_limit,
            transport=self.transport,
            on_request=self._traced(on_request),
            read_only=self.read_only,
        )

    def _traced(self, on_request: Callable[[RequestRecord], None] | None) -> Callable[[RequestRecord], None] | None:
        if self.trace is None:
            return on_request
        trace = self.trace

        def both(rec: RequestRecord) -> None:
            trace(rec)
            if on_request is not None:
                on_request(rec)

        return both

    def drain_options(self, **overrides: Any) -> DrainOptions:
        qs = self.settings.queue
        base = DrainOptions(
            batch_size=qs.batch_size,
            concurrency=min(qs.concurrency, self.settings.mautic.max_connections),
            lease=qs.lease,
            retry=RetryPolicy(qs.max_attempts, qs.backoff_base, qs.backoff_max),
            on_shared_contact=self.settings.identity.on_shared_contact,
        )
        return DrainOptions(**{**asdict(base), "retry": base.retry, **overrides})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def now() -> datetime:
    return datetime.now(UTC)
