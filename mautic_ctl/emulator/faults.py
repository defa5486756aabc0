"""Fault injection and the `mautic51` cost profile.

`FaultInjector.plan()` decides, before a request is applied, what goes wrong with it. It always draws
the same number of random numbers per request from one seeded generator, so a given request sequence
sees the same faults whatever the rates are. The cost profile sleeps (never blocks the loop) while
holding one of `cores` slots, the way a CPU-bound PHP server serialises work on a 2-core box.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

from .config import FaultConfig

# Measured on Mautic 5.1.0, 2 cores (fact sheet, "Timing (Part B)").
COST_BASIC = 0.46
COST_BEARER = 0.03
COST_UNAUTH = 0.02
COST_TOKEN = 0.03
COST_BATCH_CONTACT = 0.02
COST_SEGMENT_ADD_NEW = 0.005
COST_SEGMENT_ADD_EXISTING = 0.0015


@dataclass(frozen=True)
class Plan:
    """What happens to one request: extra latency, then at most one of the fault actions."""

    delay: float = 0.0
    action: str | None = None
    """None, "fail", "drop", "hang" (not applied), "lost" (applied, answer lost) or "down"."""
    status: int = 503


class FaultInjector:
    """Holds the live FaultConfig (mutable: changes apply to the next request) and its RNG."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._seed_used: object = object()
        self._rng = random.Random()
        self._slots: dict[asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]] = {}
        self.charged = 0.0
        """Total seconds of simulated CPU charged by the cost profile (before cost_scale)."""

    def replace(self, config: FaultConfig) -> None:
        self.config = config

    def _rng_for_config(self) -> random.Random:
        if self.config.seed != self._seed_used:
            self._seed_used = self.config.seed
            self._rng = random.Random(self.config.seed)
        return self._rng

    def applies_to(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.config.paths)

    def is_down(self) -> bool:
        cfg = self.config
        if cfg.down:
            return True
        return cfg.down_until is not None and time.time() < cfg.down_until

    def plan(self) -> Plan:
        cfg = self.config
        rng = self._rng_for_config()
        jitter, fail, pick, hang, lost, drop = (rng.random() for _ in range(6))
        delay = (cfg.latency_ms + jitter * cfg.jitter_ms) / 1000.0
        if self.is_down():
            action = "drop" if cfg.down_mode == "drop" else "down"
            return self._count(Plan(delay, action, 503))
        if drop < cfg.drop_rate:
            return self._count(Plan(delay, "drop"))
        if fail < cfg.fail_rate:
            statuses = cfg.fail_statuses or (500,)
            return self._count(Plan(delay, "fail", statuses[int(pick * len(statuses)) % len(statuses)]))
        if hang < cfg.timeout_rate:
            return self._count(Plan(delay, "hang"))
        if lost < cfg.lost_response_rate:
            return self._count(Plan(delay, "lost"))
        return Plan(delay)

    def _count(self, plan: Plan) -> Plan:
        self.counts[plan.action or "none"] += 1
        return plan

    # ---- control helpers -----------------------------------------------------------------------------
    def down_for(self, seconds: float | None, mode: str = "503") -> None:
        """Take the server down for `seconds` (None: until `up()`)."""
        self.config.down_mode = mode
        if seconds is None:
            self.config.down = True
        else:
            self.config.down_until = time.time() + seconds

    def up(self) -> None:
        self.config.down = False
        self.config.down_until = None

    # ---- cost profile --------------------------------------------------------------------------------
    async def charge(self, seconds: float) -> None:
        """Hold a core for `seconds` x cost_scale when the mautic51 profile is on."""
        cfg = self.config
        if cfg.profile != "mautic51" or seconds <= 0:
            return
        self.charged += seconds
        if cfg.cost_scale <= 0:
            return
        async with self._semaphore():
            await asyncio.sleep(seconds * cfg.cost_scale)

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        cores = max(1, self.config.cores)
        current = self._slots.get(loop)
        if current is None or current[0] != cores:
            current = (cores, asyncio.Semaphore(cores))
            self._slots[loop] = current
        return current[1]


def request_cost(auth: str, route: str | None, items: int = 0, new_items: int = 0) -> float:
    """Seconds of CPU a real Mautic 5.1 spends on a call (the fact sheet's timing table).

    `auth` is "basic", "bearer", "unauth" (rejected before any password check) or "token";
    batch/new adds 20 ms per contact, segment batch add 5 ms per new id (1.5 ms per existing one).
    """
    if auth == "token":
        return COST_TOKEN
    if auth == "unauth":
        return COST_UNAUTH
    base = COST_BASIC if auth == "basic" else COST_BEARER
    if route in ("/api/contacts/batch/new", "/api/contacts/batch/edit"):
        return base + COST_BATCH_CONTACT * items
    if route == "/api/segments/{id}/contacts/add":
        return base + COST_SEGMENT_ADD_NEW * new_items + COST_SEGMENT_ADD_EXISTING * (items - new_items)
    return base
