"""Waiting for new events between rounds of `queue work`: LISTEN/NOTIFY on PostgreSQL, a short poll on SQLite.

``wake()`` is safe to call from a signal handler (one byte into a pipe), so SIGTERM ends a wait at once.
"""

from __future__ import annotations

import contextlib
import os
import select
from pathlib import Path
from typing import Any

from mautic_ctl.store.db import is_postgres

SQLITE_POLL_S = 0.5  # a claim on the partial open-event index costs microseconds: polling is cheap


class Waiter:
    def __init__(self, target: Path | str) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._listener: Any = None
        if is_postgres(target):
            from mautic_ctl.store import pg

            self._listener = pg.listener(target)

    @property
    def mode(self) -> str:
        return "listen" if self._listener is not None else "poll"

    def wait(self, timeout: float) -> bool:
        """Block until new events were committed, ``wake()``, or ``timeout``; True unless it timed out."""
        fds = [self._r]
        if self._listener is not None:
            fds.append(self._listener.pgconn.socket)
        else:
            timeout = min(timeout, SQLITE_POLL_S)
        ready, _, _ = select.select(fds, [], [], max(timeout, 0.0))
        if self._r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._r, 512)
        if self._listener is not None and len(ready) > (self._r in ready):
            from mautic_ctl.store import pg

            pg.consume_notifies(self._listener)
        return bool(ready)

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
