"""The client's email reads for `report --mautic`, against respx-mocked answers in Mautic's documented shapes."""

from __future__ import annotations

import httpx
import pytest
import respx

from mautic_ctl.errors import NotFound
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.services.report import email_numbers, email_of

BASE = "https://mautic.test"
pytestmark = pytest.mark.anyio

EMAIL = {  # developer docs, "Get Email" (trimmed to the keys that matter here)
    "email": {"isPublished": True, "id": 7, "name": "Welcome 1", "emailType": "template", "readCount": 12,
              "sentCount": 40, "variantSentCount": 0, "variantReadCount": 0}
}  # fmt: skip
CAMPAIGN = {
    "campaign": {
        "id": 3,
        "name": "Pro Onboarding",
        "events": [
            {"id": 1, "type": "email.send", "channel": "email", "channelId": 7, "properties": {"email": 7}},
            {"id": 2, "type": "lead.changepoints", "channel": None, "channelId": None, "properties": {"points": 1}},
            {"id": 3, "type": "email.send", "channel": None, "channelId": None, "properties": {"email": "8"}},
        ],
    }
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client() -> MauticClient:
    return MauticClient(BASE, auth=httpx.BasicAuth("admin", "pw"), retry_attempts=1)


@respx.mock
async def test_get_email_and_count_stats_send_what_mautic_expects():
    respx.get(f"{BASE}/api/emails/7").respond(200, json=EMAIL)
    stats = respx.get(f"{BASE}/api/stats/page_hits").respond(200, json={"total": "5", "stats": [{"id": "1"}]})
    async with client() as c:
        assert (await c.get_email(7))["sentCount"] == 40
        assert await c.count_stats("page_hits", {"email_id": 7}) == 5
    params = stats.calls.last.request.url.params
    assert params["where[0][col]"] == "email_id" and params["where[0][expr]"] == "eq"
    assert params["where[0][val]"] == "7" and params["limit"] == "1"


@respx.mock
async def test_email_numbers_sum_the_campaigns_email_send_events():
    """Two email.send events (one by channelId, one by properties.email); a deleted email counts nothing."""
    respx.get(f"{BASE}/api/campaigns/3").respond(200, json=CAMPAIGN)
    respx.get(f"{BASE}/api/emails/7").respond(200, json=EMAIL)
    respx.get(f"{BASE}/api/emails/8").respond(
        404, json={"errors": [{"code": 404, "message": "Item was not found.", "details": []}]}
    )
    respx.get(f"{BASE}/api/stats/page_hits").respond(200, json={"total": "4", "stats": []})
    async with client() as c:
        assert await email_numbers(c, 3) == {"emails": 2, "sent": 40, "read": 12, "clicked": 4}
        with pytest.raises(NotFound):
            await c.get_email(8)


def test_email_of_reads_channel_or_properties():
    events = CAMPAIGN["campaign"]["events"]
    assert [email_of(e) for e in events] == [7, None, 8]
