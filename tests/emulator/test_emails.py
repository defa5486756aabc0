"""Emails and their stats: what `report --mautic` reads (GET /api/emails/{id}, GET /api/stats/page_hits).

Shapes from the developer docs' "Get Email" response (`{"email": {… "sentCount", "readCount" …}}`) and
from StatsApiController::listAction (`{"total": …, "stats": [rows]}`, raw rows with string values like
the campaign-contacts listing of fact sheet §7 that forwards to it).
"""

from __future__ import annotations

from mautic_ctl.emulator import SEED_SEGMENTS
from mautic_ctl.emulator.crons import run_console
from mautic_ctl.emulator.emails import add_email, click, read

from .conftest import Mautic


def _campaign_sending(mautic: Mautic, email_id: int) -> int:
    body = {
        "name": "Onboarding mails",
        "lists": [{"id": SEED_SEGMENTS["new_users"]}],
        "events": [{"name": "Send", "type": "email.send", "eventType": "action", "properties": {"email": email_id}}],
    }
    response = mautic.post("/api/campaigns/new", json=body)
    assert response.status_code == 201, response.text
    return response.json()["campaign"]["id"]


def test_trigger_sends_the_campaign_email_and_the_counts_show_reads_and_clicks(mautic: Mautic) -> None:
    """campaigns:trigger sends the email.send event's email to each member once; opens and clicks count."""
    email = add_email(mautic.state, "Welcome 1")
    campaign = _campaign_sending(mautic, email.id)
    contacts = [mautic.new_contact(email=f"e{i}@example.com") for i in range(3)]
    for cid in contacts:
        assert mautic.post(f"/api/campaigns/{campaign}/contact/{cid}/add").status_code == 200
    run_console(mautic.state, f"php bin/console mautic:campaigns:trigger -i {campaign}")
    run_console(mautic.state, f"php bin/console mautic:campaigns:trigger -i {campaign}")  # nothing new to send
    read(mautic.state, email.id, contacts[0])
    read(mautic.state, email.id, contacts[0])  # a second open is not a second read
    read(mautic.state, email.id, contacts[1])
    click(mautic.state, email.id, contacts[1])
    body = mautic.get(f"/api/emails/{email.id}").json()["email"]
    assert (body["sentCount"], body["readCount"], body["emailType"], body["name"]) == (3, 2, "template", "Welcome 1")
    hits = mautic.get(
        "/api/stats/page_hits",
        params={"where[0][col]": "email_id", "where[0][expr]": "eq", "where[0][val]": email.id, "limit": 1},
    ).json()
    assert hits["total"] == "1" and hits["stats"][0]["lead_id"] == str(contacts[1])
    sent = mautic.get(
        "/api/stats/email_stats",
        params={"where[0][col]": "email_id", "where[0][expr]": "eq", "where[0][val]": email.id},
    ).json()
    assert sent["total"] == "3" and sorted(r["is_read"] for r in sent["stats"]) == ["0", "1", "1"]
    listed = mautic.get("/api/emails").json()
    assert listed["total"] == 1 and listed["emails"][str(email.id)]["sentCount"] == 3


def test_missing_email_is_404(mautic: Mautic) -> None:
    response = mautic.get("/api/emails/999")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 404
