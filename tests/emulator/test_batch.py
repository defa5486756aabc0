"""Batch contact endpoints: per-item status codes, PHP array/object serialisation and the 200-item limit."""

from __future__ import annotations

from .conftest import Mautic


def test_batch_new_reports_per_item_status_and_leaves_gaps(mautic: Mautic) -> None:
    """A failing middle item leaves a gap: contacts and errors become objects keyed by request index."""
    items = [{"email": "b1@example.com"}, {"email": "not-an-email"}, {"email": "b3@example.com"}]
    response = mautic.post("/api/contacts/batch/new", json=items)
    assert response.status_code == 201
    body = response.json()
    assert body["statusCodes"] == [201, 400, 201]
    assert set(body["contacts"]) == {"0", "2"}
    assert body["errors"] == {
        "1": {
            "code": 400,
            "message": "email: not-an-email is invalid.",
            "details": {"email": ["not-an-email is invalid."]},
            "type": None,
        }
    }
    again = mautic.post("/api/contacts/batch/new", json=items).json()
    assert again["statusCodes"] == [200, 400, 200]


def test_batch_without_gaps_serialises_as_arrays(mautic: Mautic) -> None:
    """No gap inside the index range: contacts is a list; a failure at index 0 only makes errors a list."""
    body = mautic.post("/api/contacts/batch/new", json=[{"email": "x@example.com"}, {"email": "y@example.com"}]).json()
    assert isinstance(body["contacts"], list) and "errors" not in body
    first_bad = mautic.post("/api/contacts/batch/new", json=[{"email": "bad"}, {"email": "z@example.com"}]).json()
    assert isinstance(first_bad["errors"], list) and first_bad["statusCodes"] == [400, 201]
    assert isinstance(first_bad["contacts"], dict) and list(first_bad["contacts"]) == ["1"]
    empty = mautic.post("/api/contacts/batch/new", json=[])
    assert empty.status_code == 201 and empty.json() == {"contacts": [], "statusCodes": []}


def test_same_email_twice_in_one_batch_is_created_then_updated(mautic: Mautic) -> None:
    """The second item of a batch updates the contact the first item created."""
    body = mautic.post(
        "/api/contacts/batch/new",
        json=[{"email": "dup@example.com", "firstname": "First"}, {"email": "dup@example.com", "lastname": "Second"}],
    ).json()
    assert body["statusCodes"] == [201, 200]
    assert body["contacts"][0]["id"] == body["contacts"][1]["id"]
    assert body["contacts"][1]["fields"]["all"]["firstname"] == "First"


def test_more_than_200_items_is_a_500_with_the_limit_message(mautic: Mautic) -> None:
    """201 items: HTTP 500 from the controller (Mautic-Version present), nothing created."""
    items = [{"email": f"big{n}@example.com"} for n in range(201)]
    response = mautic.post("/api/contacts/batch/new", json=items)
    assert response.status_code == 500
    assert response.headers["mautic-version"] == "5.1.0"
    assert response.json() == {
        "errors": [{"code": 500, "message": "A max of 200 entities are supported at a time.", "details": []}]
    }
    assert not mautic.state.contacts
    assert mautic.post("/api/contacts/batch/new", json={"email": "obj@example.com"}).status_code == 500


def test_batch_is_not_transactional(mautic: Mautic) -> None:
    """An item that throws turns the answer into a 500 but the items before it stay saved."""
    items = [{"email": "nt1@example.com"}, {"email": "nt2@example.com", "stage": 9}, {"email": "nt3@example.com"}]
    assert mautic.post("/api/contacts/batch/new", json=items).status_code == 500
    assert mautic.state.contact_by_email("nt1@example.com") is not None
    assert mautic.state.contact_by_email("nt3@example.com") is None


def test_batch_edit_item_errors(mautic: Mautic) -> None:
    """batch/edit: no id or unknown id is a per-item 404 "api" error; a validation failure keeps the old entity."""
    a = mautic.new_contact(email="a@example.com")
    body = mautic.patch(
        "/api/contacts/batch/edit",
        json=[{"id": a, "city": "Lyon"}, {"email": "noid@example.com"}, {"id": 999, "city": "Ghost"}],
    ).json()
    assert body["statusCodes"] == [200, 404, 404]
    assert body["errors"]["1"] == {"message": "Item was not found.", "code": 404, "type": "api"}
    invalid = mautic.patch("/api/contacts/batch/edit", json=[{"id": a, "email": "broken"}]).json()
    assert invalid["statusCodes"] == [400]
    kept = invalid["contacts"][0]
    assert "all" not in kept["fields"] and kept["fields"]["core"]["points"]["value"] == "0"
    assert mautic.state.contacts[a].values["city"] == "Lyon"


def test_batch_put_creates_unknown_ids_and_batch_delete_reads_the_query(mautic: Mautic) -> None:
    """PUT batch/edit creates a contact for an unknown id (201); batch/delete takes ?ids= and ignores bodies."""
    body = mautic.put("/api/contacts/batch/edit", json=[{"id": 5000, "email": "put@example.com"}]).json()
    assert body["statusCodes"] == [201]
    cid = body["contacts"][0]["id"]
    ignored = mautic.request("DELETE", "/api/contacts/batch/delete", json={"ids": [cid]})
    assert ignored.json() == {"contacts": []} and cid in mautic.state.contacts
    deleted = mautic.delete("/api/contacts/batch/delete", params={"ids": f"{cid},424242"}).json()
    assert len(deleted["contacts"]) == 1 and cid not in mautic.state.contacts
