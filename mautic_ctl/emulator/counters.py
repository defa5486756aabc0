"""Request counters a test or a benchmark reads to prove how many calls (and which) were made."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestCounters:
    """Every request that reached /api or /oauth, counted before any fault is applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.api_calls = 0
        self.by_route: Counter[tuple[str, str]] = Counter()
        self.by_auth: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()

    def record(self, method: str, route: str, auth: str) -> None:
        with self._lock:
            self.total += 1
            if route.startswith("/api"):
                self.api_calls += 1
            self.by_route[(method, route)] += 1
            self.by_auth[auth] += 1

    def record_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] += 1

    def calls(self, method: str, route: str) -> int:
        """Calls made to one route template, e.g. calls("POST", "/api/segments/{id}/contacts/add")."""
        return self.by_route[(method.upper(), route)]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "api_calls": self.api_calls,
                "by_route": {f"{m} {r}": n for (m, r), n in sorted(self.by_route.items())},
                "by_auth": dict(self.by_auth),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            }
