"""Contact field endpoints: the default page, alias cleaning and creation rules."""

from __future__ import annotations

from mautic_ctl.emulator import EmulatorConfig

from .conftest import Mautic


def test_default_page_is_smaller_than_the_field_list(mautic: Mautic) -> None:
    """28 stock + 5 seed fields = 33, the default page returns 30 and total is an int."""
    body = mautic.get("/api/fields/contact").json()
    assert body["total"] == 33 and len(body["fields"]) == 30
    assert len(mautic.get("/api/fields/contact", params={"limit": "0"}).json()["fields"]) == 33


def test_unseeded_instance_has_only_the_stock_fields(make_mautic) -> None:
    """seed=False: 28 stock fields, no segments, no campaigns."""
    mautic = make_mautic(EmulatorConfig(seed=False))
    assert mautic.get("/api/fields/contact").json()["total"] == 28
    assert mautic.get("/api/segments").json() == {"total": 0, "lists": []}
    assert mautic.get("/api/campaigns").json() == {"total": 0, "campaigns": []}


def test_alias_cleaning(mautic: Mautic) -> None:
    """Aliases are transliterated, lower-cased, spaces -> _, other symbols dropped, cut to 25, made unique."""

    def create(**body: object) -> str:
        response = mautic.post("/api/fields/contact/new", json={"type": "text", **body})
        assert response.status_code == 201, response.text
        assert response.headers["location"] == f"/api/fields/contact/{response.json()['field']['id']}"
        return response.json()["field"]["alias"]

    assert create(label="X", alias="Plan-Level (Paid Tier) r6bh1f extra") == "planlevel_paid_tier_r6bh1"
    assert create(label="Référence Client") == "reference_client"
    assert create(label="Référence Client") == "reference_client1"
    assert create(label="Select") == "f_select"
    assert create(label="2024") == "f_2024"
    taken = mautic.post("/api/fields/contact/new", json={"label": "Y", "alias": "reference_client"})
    assert taken.status_code == 400 and taken.json()["errors"][0]["message"].startswith("alias: Another field")


def test_creation_validation(mautic: Mautic) -> None:
    """Select needs a list array, an unknown type and a missing label give the recorded 400s."""
    no_list = mautic.post("/api/fields/contact/new", json={"label": "S", "type": "select"})
    assert no_list.json()["errors"][0]["message"] == "list: At least one list value is required."
    piped = mautic.post("/api/fields/contact/new", json={"label": "S", "type": "select", "properties": {"list": "a|b"}})
    assert piped.json()["errors"][0]["message"] == "list: This value is not valid."
    money = mautic.post("/api/fields/contact/new", json={"label": "M", "type": "money"})
    assert money.json()["errors"][0]["message"] == (
        "type: This value is not valid., charLengthLimit: This value should not be blank."
    )
    assert mautic.post("/api/fields/contact/new", json={"type": "text"}).json()["errors"][0]["message"] == (
        "label: A label is required."
    )
    half = mautic.post("/api/fields/contact/new", json={"label": "B", "type": "boolean", "properties": {"no": ""}})
    assert half.json() == {"errors": [{"code": 400, "message": "A 'negative' label is required.", "details": []}]}


def test_number_scale_and_text_caps(mautic: Mautic) -> None:
    """scale is echoed as a string and rounds values; a text field never takes more than 191 characters."""
    num = mautic.post(
        "/api/fields/contact/new", json={"label": "LTV", "type": "number", "properties": {"scale": 2}}
    ).json()["field"]
    assert num["properties"] == {"scale": "2"}
    notes = mautic.post("/api/fields/contact/new", json={"label": "Notes", "type": "text", "charLengthLimit": 255})
    cid = mautic.new_contact(email="f@example.com")
    mautic.patch(f"/api/contacts/{cid}/edit", json={"ltv": "19.999"})
    assert mautic.state.contacts[cid].values["ltv"] == 20.0
    alias = notes.json()["field"]["alias"]
    too_long = mautic.patch(f"/api/contacts/{cid}/edit", json={alias: "n" * 192})
    assert "191 characters or less" in too_long.json()["errors"][0]["message"]
    deleted = mautic.delete(f"/api/fields/contact/{num['id']}/delete").json()["field"]
    assert deleted["id"] is None and "ltv" not in mautic.state.contacts[cid].values
