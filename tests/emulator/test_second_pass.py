"""The second pass against a real Mautic 5.1.0: facts D1-D13 of the fact sheet, one test each.

Every docstring states what the real server does; the test makes the emulator do exactly that.
"""

from __future__ import annotations

from mautic_ctl.emulator import SEED_FIELDS

from .conftest import Mautic


def where(col: str, expr: str, val: str) -> list[tuple[str, str]]:
    return [("where[0][col]", col), ("where[0][expr]", expr), ("where[0][val]", val)]


def scaled_field(mautic: Mautic, **properties: object) -> str:
    body = {"label": "Money", "type": "number", "properties": {"scale": 2, **properties}}
    response = mautic.post("/api/fields/contact/new", json=body)
    assert response.status_code == 201, response.text
    return response.json()["field"]["alias"]


def boolean_field(mautic: Mautic) -> str:
    response = mautic.post("/api/fields/contact/new", json={"label": "Opted in", "type": "boolean"})
    assert response.status_code == 201, response.text
    return response.json()["field"]["alias"]


def test_d1_a_number_without_scale_shows_truncated_but_filters_on_the_fraction(mautic: Mautic) -> None:
    """D1: 2.5 is shown as 2 and 8.75 as 8 (truncation, not rounding), yet `where gt 7` finds a stored 7.25."""
    a = mautic.new_contact(email="d1a@example.com", lifetime_value=2.5)
    b = mautic.new_contact(email="d1b@example.com", lifetime_value=8.75)
    c = mautic.new_contact(email="d1c@example.com", lifetime_value=7.25)
    assert mautic.get(f"/api/contacts/{a}").json()["contact"]["fields"]["all"]["lifetime_value"] == 2
    assert mautic.get(f"/api/contacts/{b}").json()["contact"]["fields"]["all"]["lifetime_value"] == 8
    shown = mautic.get(f"/api/contacts/{c}").json()["contact"]["fields"]["core"]["lifetime_value"]
    assert shown["value"] == 7
    found = mautic.get("/api/contacts", params=where("lifetime_value", "gt", "7")).json()
    assert set(found["contacts"]) == {str(b), str(c)}
    assert mautic.state.stored_value("d1c@example.com", "lifetime_value") == 7.25
    assert mautic.state.field_value("d1c@example.com", "lifetime_value") == 7


def test_d2_a_number_with_scale_2_rounds_toward_plus_infinity(mautic: Mautic) -> None:
    """D2: with `scale: 2` and no roundmode, 3.14159 is stored as 3.15 and -1.239 as -1.23 (not half-up)."""
    money = scaled_field(mautic)
    up = mautic.new_contact(email="d2a@example.com", **{money: 3.14159})
    down = mautic.new_contact(email="d2b@example.com", **{money: -1.239})
    cents = mautic.new_contact(email="d2c@example.com", **{money: "1.231"})
    assert mautic.get(f"/api/contacts/{up}").json()["contact"]["fields"]["all"][money] == 3.15
    assert mautic.get(f"/api/contacts/{down}").json()["contact"]["fields"]["all"][money] == -1.23
    assert mautic.get(f"/api/contacts/{cents}").json()["contact"]["fields"]["all"][money] == 1.24
    half_up = scaled_field(mautic, roundmode=6)
    mautic.patch(f"/api/contacts/{cents}/edit", json={half_up: 1.231})
    assert mautic.state.field_value("d2c@example.com", half_up) == 1.23


def test_d3_a_contact_being_created_keeps_zero_like_values(mautic: Mautic) -> None:
    """D3: on a 201 (POST /new, batch/new) "0" in text, 0 in numbers and fractions in (0, 1) are kept;
    on an existing contact the same values are dropped."""
    created = mautic.post("/api/contacts/new", json={"email": "d3@example.com", "lastname": "0", "lifetime_value": 0})
    assert created.status_code == 201
    assert mautic.state.field_value("d3@example.com", "lastname") == "0"
    assert mautic.state.field_value("d3@example.com", "lifetime_value") == 0
    money = scaled_field(mautic)
    batch = mautic.post("/api/contacts/batch/new", json=[{"email": "d3b@example.com", money: 0.5}]).json()
    assert batch["statusCodes"] == [201]
    assert mautic.state.field_value("d3b@example.com", money) == 0.5
    mautic.post("/api/contacts/new", json={"email": "d3b@example.com", money: 0.25, "lastname": "0"})
    assert mautic.state.field_value("d3b@example.com", money) == 0.5
    assert mautic.state.field_value("d3b@example.com", "lastname") is None


def test_d4_text_values_are_trimmed(mautic: Mautic) -> None:
    """D4: "  padded  " is stored as "padded"; a value of spaces only is blank (ignored)."""
    cid = mautic.new_contact(email="d4@example.com", firstname="  padded  ", city="Oslo")
    assert mautic.state.field_value("d4@example.com", "firstname") == "padded"
    mautic.patch(f"/api/contacts/{cid}/edit", json={"city": "   ", "lastname": " Nord\t"})
    assert mautic.state.field_value("d4@example.com", "city") == "Oslo"
    assert mautic.state.field_value("d4@example.com", "lastname") == "Nord"


def test_d5_list_and_batch_answers_give_booleans_as_strings(mautic: Mautic) -> None:
    """D5: GET /api/contacts, batch/edit and batch/delete print booleans as "0"/"1"; a single GET gives 1/0
    and a PATCH echo PHP booleans."""
    flag = boolean_field(mautic)
    cid = mautic.new_contact(email="d5@example.com", **{flag: True})
    listed = mautic.get("/api/contacts", params=where("email", "in", "d5@example.com")).json()
    assert listed["contacts"][str(cid)]["fields"]["all"][flag] == "1"
    assert listed["contacts"][str(cid)]["fields"]["core"][flag]["value"] == "1"
    assert mautic.get(f"/api/contacts/{cid}").json()["contact"]["fields"]["all"][flag] == 1
    echo = mautic.patch(f"/api/contacts/{cid}/edit", json={flag: False}).json()["contact"]["fields"]["all"]
    assert echo[flag] is False
    edited = mautic.patch("/api/contacts/batch/edit", json=[{"id": cid, flag: True}]).json()
    assert edited["contacts"][0]["fields"]["all"][flag] == "1"
    deleted = mautic.delete("/api/contacts/batch/delete", params={"ids": str(cid)}).json()
    assert deleted["contacts"][0]["fields"]["all"][flag] == "1"


def test_d6_points_are_reset_by_an_overwriting_upsert_and_by_put(mautic: Mautic) -> None:
    """D6: POST /new with overwriteWithBlank and PUT (single or batch) reset points to 0, the upsert
    answer showing fields.core.points.value null; PATCH and batch/new with overwriteWithBlank keep them."""
    cid = mautic.new_contact(email="d6@example.com", points=7)
    mautic.patch(f"/api/contacts/{cid}/edit", json={"city": "", "overwriteWithBlank": True})
    mautic.post("/api/contacts/batch/new", json=[{"email": "d6@example.com", "overwriteWithBlank": True}])
    assert mautic.state.contacts[cid].points == 7
    upsert = mautic.post("/api/contacts/new", json={"email": "d6@example.com", "overwriteWithBlank": True})
    assert upsert.status_code == 200 and upsert.json()["contact"]["points"] == 0
    assert upsert.json()["contact"]["fields"]["core"]["points"]["value"] is None
    mautic.post(f"/api/contacts/{cid}/points/set/9")
    mautic.put(f"/api/contacts/{cid}/edit", json={"email": "d6@example.com"})
    assert mautic.state.contacts[cid].points == 0
    mautic.post(f"/api/contacts/{cid}/points/set/4")
    mautic.put("/api/contacts/batch/edit", json=[{"id": cid, "email": "d6@example.com"}])
    assert mautic.state.contacts[cid].points == 0


def test_d7_one_contact_twice_in_batch_edit_creates_a_second_contact(mautic: Mautic) -> None:
    """D7: the first item edits the contact; the second item creates another contact with the same email."""
    cid = mautic.new_contact(email="d7@example.com", firstname="One")
    body = mautic.patch(
        "/api/contacts/batch/edit", json=[{"id": cid, "city": "Bern"}, {"id": cid, "lastname": "Twice"}]
    ).json()
    assert body["statusCodes"] == [200, 200]
    assert mautic.state.duplicate_emails() == {"d7@example.com": {cid, cid + 1}}
    original, copy = mautic.state.contacts[cid], mautic.state.contacts[cid + 1]
    assert original.values.get("lastname") is None and original.values["city"] == "Bern"
    assert copy.values["lastname"] == "Twice" and copy.values["city"] == "Bern"
    assert body["contacts"][1]["id"] == cid + 1
    again = mautic.post("/api/contacts/new", json={"email": "d7@example.com", "firstname": "Newest"})
    assert again.json()["contact"]["id"] == cid + 1  # several matches: the newest is updated


def test_d8_an_id_less_batch_edit_item_shifts_later_payloads(mautic: Mautic) -> None:
    """D8: [A, no id, B, C]: the id-less item is a 400 `mautic.api.call.id_missing`, yet its payload lands
    on B, B's on C, and C's item is a 404. A PUT batch whose only item lacks an id creates a contact."""
    a, b, c = (mautic.new_contact(email=f"d8{n}@example.com") for n in "abc")
    items = [{"id": a, "city": "A"}, {"city": "NoId"}, {"id": b, "city": "B"}, {"id": c, "city": "C"}]
    body = mautic.patch("/api/contacts/batch/edit", json=items).json()
    assert body["statusCodes"] == [200, 400, 200, 404]
    assert body["errors"]["1"] == {"message": "mautic.api.call.id_missing", "code": 400, "type": "api"}
    assert body["errors"]["3"] == {"message": "Item was not found.", "code": 404, "type": "api"}
    cities = {cid: mautic.state.contacts[cid].values.get("city") for cid in (a, b, c)}
    assert cities == {a: "A", b: "NoId", c: "B"}
    alone = mautic.put("/api/contacts/batch/edit", json=[{"email": "d8new@example.com"}]).json()
    assert alone["statusCodes"] == [201] and "errors" not in alone
    assert mautic.state.contact_by_email("d8new@example.com") is not None


def test_d9_batch_answers_keep_php_insertion_order(mautic: Mautic) -> None:
    """D9: a PUT batch that creates an item before an existing one answers {"1": ..., "0": ...}; batch/delete
    answers are keyed by position in `ids`, carry the real ids, and become an object when an id is skipped."""
    a = mautic.new_contact(email="d9a@example.com")
    response = mautic.put(
        "/api/contacts/batch/edit", json=[{"id": 999999, "email": "d9new@example.com"}, {"id": a, "city": "Kyiv"}]
    )
    assert response.status_code == 200 and response.json()["statusCodes"] == [201, 200]
    assert list(response.json()["contacts"]) == ["1", "0"]
    assert response.text.index('"1":') < response.text.index('"0":')
    b = mautic.new_contact(email="d9b@example.com")
    deleted = mautic.delete("/api/contacts/batch/delete", params={"ids": f"424242,{a},{b}"}).json()["contacts"]
    assert set(deleted) == {"1", "2"}
    assert (deleted["1"]["id"], deleted["2"]["id"]) == (a, b)
    c = mautic.new_contact(email="d9c@example.com")
    assert isinstance(mautic.delete("/api/contacts/batch/delete", params={"ids": str(c)}).json()["contacts"], list)


def test_d10_a_write_that_changes_nothing_keeps_date_modified(mautic: Mautic) -> None:
    """D10: dateModified moves only when something changed; dateIdentified stays null until the contact has
    a name, an email, a company or a social field."""
    anonymous = mautic.post("/api/contacts/new", json={"city": "Rome"}).json()["contact"]
    assert anonymous["dateIdentified"] is None
    named = mautic.patch(f"/api/contacts/{anonymous['id']}/edit", json={"twitter": "@rome"}).json()["contact"]
    assert named["dateIdentified"] is not None
    cid = mautic.new_contact(email="d10@example.com", city="Paris")
    mautic.state.contacts[cid].date_modified = None
    same = mautic.patch(f"/api/contacts/{cid}/edit", json={"city": "Paris"}).json()["contact"]
    assert same["dateModified"] is None
    changed = mautic.patch(f"/api/contacts/{cid}/edit", json={"city": "Nice"}).json()["contact"]
    assert changed["dateModified"] is not None


def test_d11_select_without_id_is_a_500(mautic: Mautic) -> None:
    """D11: `select[]` on the contacts list without `id` fails with the generic router-level 500."""
    mautic.new_contact(email="d11@example.com")
    broken = mautic.get("/api/contacts", params=[("select[]", "email")])
    assert broken.status_code == 500 and "mautic-version" not in broken.headers
    fine = mautic.get("/api/contacts", params=[("select[]", "email"), ("select[]", "id")])
    assert fine.status_code == 200


def test_d12_a_single_delete_answer_has_null_ids_and_no_tags(mautic: Mautic) -> None:
    """D12: DELETE /contacts/{id}/delete answers with `id` and `fields.all.id` null and `tags` empty."""
    cid = mautic.new_contact(email="d12@example.com", tags=["vip"])
    body = mautic.delete(f"/api/contacts/{cid}/delete").json()["contact"]
    assert body["id"] is None and body["fields"]["all"]["id"] is None and body["tags"] == []
    assert mautic.get(f"/api/contacts/{cid}").status_code == 404


def test_d13_check_order_of_segment_calls_and_long_local_parts(mautic: Mautic) -> None:
    """D13: removing a missing contact from an unpublished segment is 404 (not 403); batch add to a missing
    segment without `ids` is 400 (not 404); an email whose local part is over 64 characters is "is invalid"."""
    segment = mautic.post("/api/segments/new", json={"name": "Hidden", "isPublished": False}).json()["list"]["id"]
    missing = mautic.post(f"/api/segments/{segment}/contact/99999/remove")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "Contact not found."
    cid = mautic.new_contact(email="d13@example.com")
    assert mautic.post(f"/api/segments/{segment}/contact/{cid}/remove").status_code == 403
    no_ids = mautic.post("/api/segments/99999/contacts/add", json={})
    assert no_ids.status_code == 400 and no_ids.json()["errors"][0]["message"] == "This is a bad request."
    assert mautic.post("/api/segments/99999/contacts/add", json={"ids": [cid]}).status_code == 404
    local = "x" * 65
    long_local = mautic.post("/api/contacts/new", json={"email": f"{local}@example.com"})
    assert long_local.status_code == 400
    assert long_local.json()["errors"][0]["message"] == f"email: {local}@example.com is invalid."
    assert SEED_FIELDS["lifetime_value"] in mautic.state.fields
