"""Campaign endpoints and the membership/rotation rules of fact sheet §7."""

from __future__ import annotations

import pytest

from mautic_ctl.emulator import SEED_CAMPAIGNS, SEED_SEGMENTS

from .conftest import Mautic

WELCOME = SEED_CAMPAIGNS["welcome"]


def _no_restart_campaign(mautic: Mautic) -> int:
    body = {
        "name": "Once",
        "lists": [{"id": SEED_SEGMENTS["new_users"]}],
        "events": [
            {"name": "Adjust points", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 5}}
        ],
    }
    response = mautic.post("/api/campaigns/new", json=body)
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/campaigns/{response.json()['campaign']['id']}"
    return response.json()["campaign"]["id"]


@pytest.mark.campaign_restart
def test_re_adding_a_member_restarts_only_when_allowed(mautic: Mautic) -> None:
    """Seed campaigns allow restarts: a second add is rotation 2; allowRestart=false makes it a no-op."""
    cid = mautic.new_contact(email="c@example.com")
    mautic.post(f"/api/campaigns/{WELCOME}/contact/{cid}/add")
    mautic.post(f"/api/campaigns/{WELCOME}/contact/{cid}/add")
    assert mautic.state.campaign_rotation(WELCOME, cid) == 2
    assert [e.rotation for e in mautic.state.entries(WELCOME, cid)] == [1, 2]
    once = _no_restart_campaign(mautic)
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/add")
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/add")
    assert mautic.state.campaign_rotation(once, cid) == 1 and len(mautic.state.entries(once, cid)) == 1


@pytest.mark.campaign_restart
def test_add_after_manual_removal_always_restarts(mautic: Mautic) -> None:
    """remove sets manually_removed; a later add starts rotation + 1 even when allowRestart is false."""
    once = _no_restart_campaign(mautic)
    cid = mautic.new_contact(email="c@example.com")
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/add")
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/remove")
    assert mautic.state.campaign_members[(once, cid)].manually_removed is True
    assert mautic.get(f"/api/campaigns/{once}/contacts").json() == {"total": "0", "contacts": []}
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/add")
    assert mautic.state.campaign_rotation(once, cid) == 2
    rows = mautic.get(f"/api/campaigns/{once}/contacts").json()
    assert rows["total"] == "1" and rows["contacts"][0]["rotation"] == "2"


def test_contact_campaigns_lists_published_active_memberships(mautic: Mautic) -> None:
    """GET /contacts/{id}/campaigns hides unpublished campaigns; listMembership is the campaign's sources."""
    cid = mautic.new_contact(email="c@example.com")
    mautic.post(f"/api/campaigns/{WELCOME}/contact/{cid}/add")
    mautic.patch(f"/api/campaigns/{SEED_CAMPAIGNS['retention']}/edit", json={"isPublished": False})
    mautic.post(f"/api/campaigns/{SEED_CAMPAIGNS['retention']}/contact/{cid}/add")
    body = mautic.get(f"/api/contacts/{cid}/campaigns").json()
    assert body["total"] == 1
    assert body["campaigns"][str(WELCOME)]["listMembership"] == [SEED_SEGMENTS["new_users"]]
    assert mautic.state.campaign_ids_of(cid) == {WELCOME, SEED_CAMPAIGNS["retention"]}


def test_missing_contact_or_campaign_messages(mautic: Mautic) -> None:
    """add of a missing contact says "Item was not found.", remove says "Contact not found."."""
    cid = mautic.new_contact(email="c@example.com")
    assert (
        mautic.post(f"/api/campaigns/{WELCOME}/contact/999/add").json()["errors"][0]["message"] == "Item was not found."
    )
    assert (
        mautic.post(f"/api/campaigns/{WELCOME}/contact/999/remove").json()["errors"][0]["message"]
        == "Contact not found."
    )
    assert mautic.post(f"/api/campaigns/999/contact/{cid}/add").status_code == 404


def test_create_requires_events_and_a_source(mautic: Mautic) -> None:
    """No events -> 400; no source -> 400; plain-id lists -> 201 with no source attached; bad event -> 500."""
    event = {"name": "x", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 1}}
    no_events = mautic.post("/api/campaigns/new", json={"name": "A", "lists": [{"id": 1}]})
    assert no_events.json()["errors"][0]["message"].startswith("At least one event is required.")
    no_source = mautic.post("/api/campaigns/new", json={"name": "A", "events": [event]})
    assert no_source.json()["errors"][0]["message"].startswith("At least one contact source is required.")
    plain = mautic.post("/api/campaigns/new", json={"name": "A", "lists": [1], "events": [event]})
    assert plain.status_code == 201 and plain.json()["campaign"]["lists"] == []
    bad = mautic.post("/api/campaigns/new", json={"name": "A", "lists": [{"id": 1}], "events": [{"type": "nope"}]})
    assert bad.status_code == 500


def test_delete_is_immediate(mautic: Mautic) -> None:
    """A deleted campaign is gone at once: GET 404, add 404, list empty."""
    assert mautic.delete(f"/api/campaigns/{WELCOME}/delete").json()["campaign"]["id"] is None
    assert mautic.get(f"/api/campaigns/{WELCOME}").status_code == 404
    assert mautic.get("/api/campaigns", params={"search": f"ids:{WELCOME}"}).json() == {"total": 0, "campaigns": []}


@pytest.mark.campaign_restart
def test_console_hooks_enrol_and_trigger_once_per_rotation(mautic: Mautic) -> None:
    """campaigns:update enrols source members (not manually removed ones); trigger runs events once per rotation."""
    once = _no_restart_campaign(mautic)
    cid = mautic.new_contact(email="c@example.com")
    mautic.post(f"/api/segments/{SEED_SEGMENTS['new_users']}/contact/{cid}/add")
    mautic.emulator.console(f"mautic:campaigns:update -i {once}")
    assert mautic.state.campaign_members[(once, cid)].manually_added is False
    mautic.emulator.console(f"mautic:campaigns:trigger -i {once}")
    mautic.emulator.console(f"mautic:campaigns:trigger -i {once}")
    assert mautic.state.contacts[cid].points == 5
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/remove")
    mautic.emulator.console(f"mautic:campaigns:update -i {once}")
    assert mautic.state.campaign_ids_of(cid) == set()
    mautic.post(f"/api/campaigns/{once}/contact/{cid}/add")
    mautic.emulator.console(f"mautic:campaigns:trigger -i {once}")
    assert mautic.state.contacts[cid].points == 10


def test_double_entries_lists_every_restart_until_a_test_expects_them(mautic: Mautic) -> None:
    """The guard behind `no_unasked_campaign_restart`: a second add to a restartable campaign is an entry
    at rotation 2, reported by `double_entries()`; `restarts_expected` silences it."""
    cid = mautic.new_contact(email="guard@example.com")
    mautic.post(f"/api/campaigns/1/contact/{cid}/add")
    assert mautic.state.double_entries() == []
    mautic.post(f"/api/campaigns/1/contact/{cid}/add")
    [entry] = mautic.state.double_entries()
    assert (entry.campaign_id, entry.contact_id, entry.rotation) == (1, cid, 2)
    mautic.state.restarts_expected = True
    assert mautic.state.double_entries() == []
