"""Segment endpoints and the lead_lists_leads membership rules (fact sheet §6)."""

from __future__ import annotations

from mautic_ctl.emulator import SEED_SEGMENTS

from .conftest import Mautic

PRO = SEED_SEGMENTS["pro"]


def test_seed_segments_have_fixed_ids(mautic: Mautic) -> None:
    """The five seed segments exist with their fixed ids and aliases."""
    body = mautic.get("/api/segments", params={"limit": "100"}).json()
    assert body["total"] == 5
    assert {int(k): v["alias"] for k, v in body["lists"].items()} == {
        1: "new-users",
        2: "free-tier",
        3: "pro-tier",
        4: "enterprise-tier",
        5: "churned",
    }
    assert mautic.get("/api/segments", params={"search": "nothing"}).json() == {"total": 0, "lists": []}


def test_truthy_string_semantics_of_minimal_and_published(mautic: Mautic) -> None:
    """minimal=false switches minimal mode ON (PHP truthiness); minimal=0 does not."""
    on = mautic.get("/api/segments", params={"minimal": "false", "limit": "1"}).json()["lists"]["5"]
    off = mautic.get("/api/segments", params={"minimal": "0", "limit": "1"}).json()["lists"]["5"]
    assert "filters" not in on and "filters" in off
    mautic.post("/api/segments/new", json={"name": "Hidden", "isPublished": False})
    assert mautic.get("/api/segments", params={"published": "false"}).json()["total"] == 5
    assert mautic.get("/api/segments").json()["total"] == 6


def test_create_segment_rules(mautic: Mautic) -> None:
    """Name is required, aliases get a digit suffix without separator, a supplied taken alias is a 400."""
    first = mautic.post("/api/segments/new", json={"name": "Tier Pro"}).json()["list"]
    assert first["alias"] == "tier-pro" and first["isGlobal"] is True and first["isPublished"] is True
    assert mautic.post("/api/segments/new", json={"name": "Tier Pro"}).json()["list"]["alias"] == "tier-pro1"
    taken = mautic.post("/api/segments/new", json={"name": "Other", "alias": "tier-pro"})
    assert taken.status_code == 400 and taken.json()["errors"][0]["message"].startswith("alias: Alias is already")
    nameless = mautic.post("/api/segments/new", json={"isPublished": True})
    assert nameless.json()["errors"][0]["message"] == "name: A name is required."


def test_add_and_remove_follow_manual_flags(mautic: Mautic) -> None:
    """API add sets manually_added; remove deletes a manual row; a filter row becomes a suppression row."""
    cid = mautic.new_contact(email="m@example.com")
    assert mautic.post(f"/api/segments/{PRO}/contact/{cid}/add").json() == {"success": 1}
    assert mautic.post(f"/api/segments/{PRO}/contact/{cid}/add").json() == {"success": 1}
    lists = mautic.get(f"/api/contacts/{cid}/segments").json()
    assert lists["total"] == 1 and lists["lists"][str(PRO)]["manuallyAdded"] is True
    mautic.post(f"/api/segments/{PRO}/contact/{cid}/remove")
    assert (PRO, cid) not in mautic.state.segment_members
    mautic.state.segment_add(PRO, cid, manual=False)
    mautic.post(f"/api/segments/{PRO}/contact/{cid}/remove")
    assert mautic.state.segment_members[(PRO, cid)].manually_removed is True
    assert mautic.get(f"/api/contacts/{cid}/segments").json()["total"] == 0


def test_unpublished_segment_is_403_and_missing_contact_404(mautic: Mautic) -> None:
    """Add/remove/batch add on an unpublished segment: 403; a missing contact: 404 "Contact not found."."""
    sid = mautic.post("/api/segments/new", json={"name": "Off", "isPublished": False}).json()["list"]["id"]
    cid = mautic.new_contact(email="u@example.com")
    for path in (f"/api/segments/{sid}/contact/{cid}/add", f"/api/segments/{sid}/contact/{cid}/remove"):
        denied = mautic.post(path)
        assert denied.status_code == 403
        assert denied.json()["errors"][0]["message"] == "You do not have access to the requested area/action."
    assert mautic.post(f"/api/segments/{sid}/contacts/add", json={"ids": [cid]}).status_code == 403
    missing = mautic.post(f"/api/segments/{PRO}/contact/99999/add")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "Contact not found."
    assert mautic.post(f"/api/segments/9999/contact/{cid}/add").json()["errors"][0]["message"] == "Item was not found."
    usable = mautic.get("/api/contacts/list/segments").json()
    assert str(sid) not in usable and usable[str(PRO)] == {"id": PRO, "name": "Pro Tier", "alias": "pro-tier"}


def test_batch_add_body_shapes(mautic: Mautic) -> None:
    """Only a JSON `ids` array adds; no ids / contactIds is 400; a comma string or [] adds nothing with 200."""
    a = mautic.new_contact(email="a@example.com")
    b = mautic.new_contact(email="b@example.com")
    path = f"/api/segments/{PRO}/contacts/add"
    body = mautic.post(path, json={"ids": [a, b, 424242]}).json()
    assert body == {
        "success": 1,
        "details": {str(a): {"success": True}, str(b): {"success": True}, "424242": {"success": False}},
    }
    for bad in ({"contactIds": [a]}, {}):
        response = mautic.post(path, json=bad)
        assert response.status_code == 400 and response.json()["errors"][0]["message"] == "This is a bad request."
    assert mautic.post(path, params={"ids[]": str(a)}).status_code == 400
    mautic.post(f"/api/segments/{PRO}/contact/{a}/remove")
    assert mautic.post(path, json={"ids": f"{a},{b}"}).json() == {"success": 1, "details": []}
    assert mautic.post(path, json={"ids": []}).json() == {"success": 1, "details": []}
    assert mautic.state.segment_ids_of(a) == set()


def test_segment_rebuild_hook_respects_suppression_rows(mautic: Mautic) -> None:
    """mautic:segments:update adds matching contacts, never re-adds a suppressed one, keeps manual members."""
    seg = mautic.post(
        "/api/segments/new",
        json={"name": "Filter", "filters": [{"glue": "and", "field": "city", "object": "lead", "type": "text",
                                             "operator": "=", "properties": {"filter": "Filterton"}}]},
    ).json()["list"]["id"]  # fmt: skip
    m1 = mautic.new_contact(email="m1@example.com", city="Filterton")
    n1 = mautic.new_contact(email="n1@example.com", city="Elsewhere")
    mautic.emulator.console(f"php bin/console mautic:segments:update -i {seg}")
    assert mautic.state.segment_members[(seg, m1)].manually_added is False
    mautic.post(f"/api/segments/{seg}/contact/{m1}/remove")
    mautic.post(f"/api/segments/{seg}/contact/{n1}/add")
    mautic.emulator.console(f"mautic:segments:update -i {seg}")
    assert mautic.state.segment_ids_of(m1) == set() and mautic.state.segment_ids_of(n1) == {seg}
