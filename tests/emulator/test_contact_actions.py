"""Contact sub-resources the sync needs: do-not-contact (§5.7), relative points (§5.8), delete, tags."""

from __future__ import annotations

from .conftest import Mautic


def test_dnc_add_defaults_to_manual_and_never_overrides_an_unsubscribe(mautic: Mautic) -> None:
    """Add: reason 3 by default, same reason is a no-op, another reason replaces it unless the entry is 1."""
    cid = mautic.new_contact(email="dnc@example.com")
    added = mautic.post(f"/api/contacts/{cid}/dnc/email/add", json={"comments": "asked by phone"})
    assert added.status_code == 200
    [entry] = added.json()["contact"]["doNotContact"]
    assert (entry["channel"], entry["reason"], entry["comments"], entry["channelId"]) == (
        "email",
        3,
        "asked by phone",
        None,
    )
    assert set(entry) == {"id", "dateAdded", "reason", "comments", "channel", "channelId"}
    mautic.post(f"/api/contacts/{cid}/dnc/email/add", json={"reason": 1})
    mautic.post(f"/api/contacts/{cid}/dnc/email/add", json={"reason": 2})
    fetched = mautic.get(f"/api/contacts/{cid}").json()["contact"]["doNotContact"]
    assert [(e["channel"], e["reason"]) for e in fetched] == [("email", 1)]


def test_dnc_reason_zero_is_a_400_and_a_missing_contact_a_404(mautic: Mautic) -> None:
    """reason 0 -> 400 "Invalid reason code given"; an unknown contact -> 404 "Item was not found."."""
    cid = mautic.new_contact(email="dnc0@example.com")
    zero = mautic.post(f"/api/contacts/{cid}/dnc/email/add", json={"reason": 0})
    assert zero.status_code == 400
    assert zero.json()["errors"][0] == {
        "code": 400,
        "message": "Invalid reason code given",
        "details": ["Reason code needs to be an integer and higher than 0."],
    }
    missing = mautic.post("/api/contacts/99999/dnc/email/add")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "Item was not found."


def test_dnc_remove_reports_whether_an_entry_was_found(mautic: Mautic) -> None:
    """Remove answers {"recordFound": bool, "contact": ...}; removing twice finds nothing the second time."""
    cid = mautic.new_contact(email="dncr@example.com")
    mautic.post(f"/api/contacts/{cid}/dnc/sms/add", json={"reason": 3})
    first = mautic.post(f"/api/contacts/{cid}/dnc/sms/remove").json()
    assert first["recordFound"] is True and first["contact"]["doNotContact"] == []
    assert mautic.post(f"/api/contacts/{cid}/dnc/sms/remove").json()["recordFound"] is False


def test_points_endpoint_adds_and_subtracts(mautic: Mautic) -> None:
    """POST /contacts/{id}/points/{plus|minus|times|divide|set}/{delta} -> {"success":1}; a missing contact is
    404 "Contact not found."; an unknown operator is no route (404 without Mautic-Version)."""
    cid = mautic.new_contact(email="pts@example.com", points=10)
    assert mautic.post(f"/api/contacts/{cid}/points/plus/5").json() == {"success": 1}
    mautic.post(f"/api/contacts/{cid}/points/minus/20")
    assert mautic.state.contacts[cid].points == -5
    mautic.post(f"/api/contacts/{cid}/points/times/3")
    mautic.post(f"/api/contacts/{cid}/points/divide/2")
    assert mautic.state.contacts[cid].points == -7
    missing = mautic.post("/api/contacts/99999/points/plus/1")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "Contact not found."
    unknown = mautic.post(f"/api/contacts/{cid}/points/power/2")
    assert unknown.status_code == 404 and "mautic-version" not in unknown.headers


def test_tags_are_added_and_removed_through_edit(mautic: Mautic) -> None:
    """No tags endpoint exists: PATCH `tags` adds, a leading `-` removes, other tags stay (§5.3)."""
    cid = mautic.new_contact(email="tags@example.com", tags=["a", "b"])
    body = mautic.patch(f"/api/contacts/{cid}/edit", json={"tags": ["-a", "c"]}).json()["contact"]
    assert [t["tag"] for t in body["tags"]] == ["b", "c"]
    assert mautic.post(f"/api/contacts/{cid}/tags").status_code == 404
