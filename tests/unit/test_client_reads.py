"""The client's batched reads for issue 10 (contacts by many emails, segment and campaign member ids)
and its read-only mode, against respx-mocked Mautic answers.

The campaign-contacts body is the real 5.1.0 answer of tests/emulator/recordings/08-campaigns.json
("campaign contacts"); contacts are shaped as in 03-contacts-lookup.json (see test_client.contact).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from mautic_ctl.errors import ConfigError
from mautic_ctl.mautic.client import EMAIL_CHUNK, MauticClient
from tests.unit.test_client import BASE, contact

pytestmark = pytest.mark.anyio

CAMPAIGN_CONTACTS = {  # 08-campaigns.json "campaign contacts"
    "total": "1",
    "contacts": [{"campaign_id": "24", "lead_id": "1113", "date_added": "2026-11-26 22:43:36",
                  "manually_removed": "0", "manually_added": "1", "rotation": "1"}],
}  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mock():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def make_client():
    def factory(**kwargs: Any) -> MauticClient:
        return MauticClient(BASE, auth=httpx.BasicAuth("admin", "pw"), retry_max_wait=0.001, **kwargs)

    return factory


async def test_many_emails_are_looked_up_a_chunk_per_call_and_matched_case_insensitively(mock, make_client):
    emails = [f"User{i}@Example.com" for i in range(EMAIL_CHUNK + 3)]

    def answer(request):
        wanted = request.url.params["where[0][val]"].split(",")
        assert request.url.params["where[0][expr]"] == "in"
        assert int(request.url.params["limit"]) == 2 * len(wanted)
        body = {str(1000 + i): contact(1000 + i, e.upper()) for i, e in enumerate(wanted)}
        body["1"] = contact(1, "someone-else@example.com")  # an unrelated row (an ignored expression)
        return httpx.Response(200, json={"total": str(len(body)), "contacts": body})

    route = mock.get("/api/contacts").mock(side_effect=answer)
    async with make_client() as client:
        found = await client.find_contacts_by_emails(emails)
    assert route.call_count == 2
    assert set(found) == {e.casefold() for e in emails}
    assert "someone-else@example.com" not in found


async def test_campaign_member_ids_read_the_stats_rows(mock, make_client):
    mock.get("/api/campaigns/24/contacts").respond(200, json=CAMPAIGN_CONTACTS)
    async with make_client() as client:
        assert await client.campaign_member_ids(24) == {1113}


async def test_segment_member_ids_page_through_a_segment_search(mock, make_client):
    pages = {"0": {str(i): contact(i, f"m{i}@example.com") for i in range(1, 201)},
             "200": {"201": contact(201, "m201@example.com")}}  # fmt: skip

    def answer(request):
        assert request.url.params["search"] == "segment:pro-tier"
        assert request.url.params.get_list("select[]") == ["id"]
        body = pages[request.url.params["start"]]
        return httpx.Response(200, json={"total": "201", "contacts": body})

    route = mock.get("/api/contacts").mock(side_effect=answer)
    async with make_client() as client:
        ids = await client.segment_member_ids("pro-tier")
    assert ids == set(range(1, 202)) and route.call_count == 2


async def test_a_read_only_client_refuses_every_call_but_get(mock, make_client):
    add = mock.post("/api/campaigns/1/contact/2/add").respond(200, json={"success": 1})
    async with make_client(read_only=True) as client:
        with pytest.raises(ConfigError, match="dry run"):
            await client.add_to_campaign(1, 2)
    assert not add.called
