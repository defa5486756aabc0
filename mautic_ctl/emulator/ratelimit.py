"""The noxlogic rate limiter Mautic 5 ships: N calls per period on /api, a fixed window per bucket.

The bucket key is the access token for OAuth2 callers and one shared key for every Basic caller (§4).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from .errors import bare_response


@dataclass
class Window:
    started: float
    calls: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    def refusal(self) -> Response:
        message = f"You exceeded the rate limit of {self.limit} API calls per hour."
        body = {"errors": [{"code": 429, "message": message, "details": []}]}
        return bare_response(body, 429, self.headers())


class RateLimiter:
    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    def hit(self, key: str, limit: int, period: float, now: float) -> Verdict:
        """Count one call against `key`; refuse it when the window already holds `limit` calls."""
        window = self.windows.get(key)
        if window is None or now >= window.started + period:
            window = self.windows[key] = Window(now)
        reset = int(window.started + period)
        if window.calls >= limit:
            return Verdict(False, limit, 0, reset)
        window.calls += 1
        return Verdict(True, limit, limit - window.calls, reset)

    def clear(self) -> None:
        self.windows.clear()
