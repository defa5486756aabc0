"""Fixtures: an in-process emulator driven through httpx.ASGITransport, with a synchronous facade."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mautic_ctl.emulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, Emulator, EmulatorConfig, create_app


class Mautic:
    """Synchronous calls into an in-process emulator (one event loop for the whole test)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.app = create_app(config)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://mautic.test",
            auth=(DEFAULT_USERNAME, DEFAULT_PASSWORD),
        )

    @property
    def emulator(self) -> Emulator:
        return self.app.state.emulator

    @property
    def state(self) -> Any:
        return self.emulator.state

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def new_contact(self, **fields: Any) -> int:
        response = self.post("/api/contacts/new", json=fields)
        assert response.status_code in (200, 201), response.text
        return response.json()["contact"]["id"]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def mautic() -> Iterator[Mautic]:
    m = Mautic()
    yield m
    m.close()


class MauticFactory:
    """Builds emulators for one test; `made` lets the suite-wide rotation guard inspect each of them."""

    def __init__(self) -> None:
        self.made: list[Mautic] = []

    def __call__(self, config: EmulatorConfig | None = None) -> Mautic:
        self.made.append(Mautic(config))
        return self.made[-1]


@pytest.fixture
def make_mautic() -> Iterator[MauticFactory]:
    factory = MauticFactory()
    yield factory
    for m in factory.made:
        m.close()
