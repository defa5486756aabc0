"""Contact endpoints: the upsert, lookup and write quirks of Mautic 5.1.0."""

from __future__ import annotations

from mautic_ctl.emulator import SEED_FIELDS

from .conftest import Mautic


def where(col: str, expr: str, val: str) -> list[tuple[str, str]]:
    return [("where[0][col]", col), ("where[0][expr]", expr), ("where[0][val]", val)]


def test_upsert_creates_with_201_then_updates_with_200(mautic: Mautic) -> None:
    """POST /new is an upsert on email: 201 + relative Location first, then 200 on the same id, no Location."""
    first = mautic.post("/api/contacts/new", json={"email": "alice@example.com", "firstname": "Alice"})
    assert first.status_code == 201
    cid = first.json()["contact"]["id"]
    assert first.headers["location"] == f"/api/contacts/{cid}"
    assert first.headers["mautic-version"] == "5.1.0"
    again = mautic.post("/api/contacts/new", json={"email": "ALICE@EXAMPLE.COM", "city": "Oxford"})
    assert again.status_code == 200
    assert "location" not in again.headers
    body = again.json()["contact"]
    assert body["id"] == cid
    assert body["fields"]["all"]["email"] == "ALICE@EXAMPLE.COM"
    assert body["fields"]["all"]["firstname"] == "Alice"


def test_write_answers_use_the_two_field_entry_shapes(mautic: Mautic) -> None:
    """A created contact has int field ids and decoded properties; an existing one string ids and PHP strings."""
    created = mautic.post("/api/contacts/new", json={"email": "shape@example.com"}).json()["contact"]
    assert created["fields"]["core"]["title"]["id"] == 1
    assert created["fields"]["core"]["title"]["properties"] == {"list": ["Mr", "Mrs", "Miss"]}
    assert created["utmtags"] is None
    fetched = mautic.get(f"/api/contacts/{created['id']}").json()["contact"]
    assert fetched["fields"]["core"]["email"]["id"] == "6"
    assert fetched["fields"]["core"]["email"]["properties"] == "a:0:{}"
    assert fetched["fields"]["all"]["id"] == str(created["id"])
    assert fetched["utmtags"] == []


def test_email_is_sanitised_before_matching_and_storing(mautic: Mautic) -> None:
    """Spaces are stripped from emails, so "bob x@..." is stored as "bobx@..." and matched later."""
    cid = mautic.new_contact(email="bob x@example.com")
    assert mautic.state.contacts[cid].values["email"] == "bobx@example.com"
    again = mautic.post("/api/contacts/new", json={"email": "  bobx@example.com  "})
    assert again.status_code == 200 and again.json()["contact"]["id"] == cid


def test_where_eq_misses_html_special_characters_but_in_finds_them(mautic: Mautic) -> None:
    """`where` values are HTML-escaped: eq never matches an apostrophe email, in decodes and finds it."""
    cid = mautic.new_contact(email="o'brien@example.com")
    eq = mautic.get("/api/contacts", params=where("email", "eq", "o'brien@example.com")).json()
    assert eq == {"total": "0", "contacts": {}}
    found = mautic.get("/api/contacts", params=where("email", "in", "o'brien@example.com")).json()
    assert found["total"] == "1" and list(found["contacts"]) == [str(cid)]
    upper = mautic.get("/api/contacts", params=where("email", "in", "O'BRIEN@EXAMPLE.COM")).json()
    assert upper["total"] == "1"


def test_where_in_takes_a_comma_separated_list(mautic: Mautic) -> None:
    """`in` with two emails returns both contacts, total as a string."""
    a = mautic.new_contact(email="a@example.com")
    b = mautic.new_contact(email="b@example.com")
    body = mautic.get("/api/contacts", params=where("email", "in", "a@example.com,b@example.com")).json()
    assert body["total"] == "2" and set(body["contacts"]) == {str(a), str(b)}


def test_unknown_where_expr_is_dropped_and_unknown_column_is_500(mautic: Mautic) -> None:
    """An unknown expr returns the unfiltered list; an unknown column is a router-style 500."""
    for n in range(3):
        mautic.new_contact(email=f"c{n}@example.com")
    everything = mautic.get("/api/contacts", params=where("email", "equals", "nobody")).json()
    assert everything["total"] == "3"
    broken = mautic.get("/api/contacts", params=where("no_such_col", "eq", "x"))
    assert broken.status_code == 500
    assert "mautic-version" not in broken.headers
    assert broken.json()["errors"][0]["type"] is None
    assert mautic.get("/api/contacts", params={"orderBy": "nope"}).status_code == 500


def test_search_email_is_a_like_prefix_with_wildcards(mautic: Mautic) -> None:
    """email:x matches x% (so .com.au and _ wildcards too); email:+x is exact but `_` stays a wildcard."""
    carol = mautic.new_contact(email="carol@example.com")
    mautic.new_contact(email="carol@example.com.au")
    mautic.new_contact(email="underXscore@example.com")
    under = mautic.new_contact(email="under_score@example.com")
    assert mautic.get("/api/contacts", params={"search": "email:carol@example.com"}).json()["total"] == "2"
    strict = mautic.get("/api/contacts", params={"search": "email:+carol@example.com"}).json()
    assert list(strict["contacts"]) == [str(carol)]
    assert mautic.get("/api/contacts", params={"search": "+email:carol@example.com"}).json()["total"] == "0"
    assert mautic.get("/api/contacts", params={"search": "email:under_score@example.com"}).json()["total"] == "2"
    exact = mautic.get("/api/contacts", params=where("email", "eq", "under_score@example.com")).json()
    assert list(exact["contacts"]) == [str(under)]


def test_paging_minimal_and_select(mautic: Mautic) -> None:
    """limit/start page the list, minimal drops the heavy keys, select[] keeps only the chosen columns."""
    for n in range(5):
        mautic.new_contact(email=f"p{n}@example.com", firstname=f"P{n}")
    page = mautic.get("/api/contacts", params={"limit": "2", "orderBy": "id", "orderByDir": "DESC"}).json()
    assert page["total"] == "5" and list(page["contacts"]) == ["5", "4"]
    assert len(mautic.get("/api/contacts", params={"limit": "0"}).json()["contacts"]) == 5
    minimal = mautic.get("/api/contacts", params={"minimal": "1", "limit": "1"}).json()["contacts"]["1"]
    assert "tags" not in minimal and "fields" in minimal
    select = [("select[]", "email"), ("select[]", "id"), ("limit", "1")]
    chosen = mautic.get("/api/contacts", params=select).json()["contacts"]["1"]
    assert chosen["fields"]["all"] == {"id": "1", "email": "p0@example.com"}


def test_zero_and_blank_values_are_dropped_without_overwrite_with_blank(mautic: Mautic) -> None:
    """0, "0", 0.5, "" and null never overwrite a value on PATCH; overwriteWithBlank clears only the sent key."""
    cid = mautic.new_contact(email="dave@example.com", city="Leeds", lastname="Jones", lifetime_value=42)
    for value in (0, "0", 0.5, "", None):
        mautic.patch(f"/api/contacts/{cid}/edit", json={"lifetime_value": value, "city": value})
    contact = mautic.state.contacts[cid]
    assert contact.values["lifetime_value"] == 42 and contact.values["city"] == "Leeds"
    response = mautic.patch(f"/api/contacts/{cid}/edit", json={"city": "", "overwriteWithBlank": True})
    assert "city" not in contact.values and contact.values["lastname"] == "Jones"
    shown = response.json()["contact"]["fields"]["all"]
    assert shown["city"] is None and shown["title"] == "" and shown["attribution"] == 0.0
    assert shown["lifetime_value"] == 42 and shown["lastname"] == "Jones"


def test_post_upsert_with_overwrite_with_blank_nulls_unsent_fields(mautic: Mautic) -> None:
    """O19: POST /new onto an existing contact with overwriteWithBlank blanks every field it did not send."""
    cid = mautic.new_contact(email="owb@example.com", firstname="Olga", phone="+371")
    mautic.post("/api/contacts/new", json={"email": "owb@example.com", "city": "", "overwriteWithBlank": True})
    assert mautic.state.contacts[cid].values == {"email": "owb@example.com"}


def test_put_replaces_the_whole_contact_and_creates_missing_ids(mautic: Mautic) -> None:
    """PUT blanks unsent fields (email too), writes 0, creates a new id for a missing one, 422 on a taken email."""
    cid = mautic.new_contact(email="frank@example.com", firstname="Frank", lifetime_value=9)
    assert mautic.put(f"/api/contacts/{cid}/edit", json={"firstname": "Franklin"}).status_code == 200
    assert mautic.state.contacts[cid].values == {"firstname": "Franklin"}
    mautic.put(f"/api/contacts/{cid}/edit", json={"email": "frank@example.com", "lifetime_value": 0})
    assert mautic.state.contacts[cid].values["lifetime_value"] == 0
    created = mautic.put("/api/contacts/999999/edit", json={"email": "new@example.com"})
    assert created.status_code == 201 and created.json()["contact"]["id"] != 999999
    taken = mautic.put("/api/contacts/999998/edit", json={"email": "frank@example.com"})
    assert taken.status_code == 422
    assert taken.json()["errors"][0]["message"] == "email: This field must be unique."


def test_patch_email_conflict_is_422_and_missing_contact_404(mautic: Mautic) -> None:
    """Changing an email to another contact's gives 422; PATCH on a missing id gives 404 Item was not found."""
    dave = mautic.new_contact(email="dave@example.com")
    mautic.new_contact(email="erin@example.com")
    conflict = mautic.patch(f"/api/contacts/{dave}/edit", json={"email": "erin@example.com"})
    assert conflict.status_code == 422
    assert conflict.json()["errors"][0]["details"] == {"email": ["This field must be unique."]}
    missing = mautic.patch("/api/contacts/999/edit", json={"city": "X"})
    assert missing.json() == {"errors": [{"code": 404, "message": "Item was not found.", "details": []}]}


def test_unknown_alias_is_silently_ignored(mautic: Mautic) -> None:
    """Unknown field aliases are dropped without an error."""
    response = mautic.post("/api/contacts/new", json={"email": "ghost@example.com", "no_such_field": "boo"})
    assert response.status_code == 201
    assert "no_such_field" not in response.json()["contact"]["fields"]["all"]


def test_sixty_four_character_limit_on_stock_fields_and_email(mautic: Mautic) -> None:
    """Stock fields (email included) reject values over 64 characters with a 400."""
    ok = mautic.post("/api/contacts/new", json={"email": "long@example.com", "firstname": "B" * 64})
    assert ok.status_code == 201
    too_long = mautic.post("/api/contacts/new", json={"email": "x@example.com", "firstname": "A" * 65})
    assert too_long.status_code == 400
    message = "This value is too long. It should have 64 characters or less."
    assert too_long.json()["errors"][0] == {
        "code": 400,
        "message": f"firstname: {message}",
        "details": {"firstname": [message]},
    }
    long_email = mautic.post("/api/contacts/new", json={"email": "x" * 60 + "@example.com"})
    assert long_email.status_code == 400 and long_email.json()["errors"][0]["message"].startswith("email: ")


def test_invalid_email_is_400(mautic: Mautic) -> None:
    """An address without @ or without a TLD is rejected."""
    for bad in ("not-an-email", "bob@localhost"):
        response = mautic.post("/api/contacts/new", json={"email": bad})
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"] == f"email: {bad} is invalid."


def test_field_types_are_coerced_like_mautic(mautic: Mautic) -> None:
    """Numbers without a scale show truncated (D1), datetimes lose seconds and go to UTC, bad dates are ignored."""
    cid = mautic.new_contact(email="types@example.com")
    mautic.patch(
        f"/api/contacts/{cid}/edit",
        json={"lifetime_value": 7.5, "signup_date": "03/05/2026", "last_login": "2026-02-01T10:20:30+02:00"},
    )
    values = mautic.state.contacts[cid].values
    assert values["lifetime_value"] == 7.5
    assert mautic.state.field_value("types@example.com", "lifetime_value") == 7
    assert values["signup_date"] == "2026-03-05"
    assert values["last_login"] == "2026-02-01 08:20:00"
    mautic.patch(f"/api/contacts/{cid}/edit", json={"signup_date": "not a date"})
    assert values["signup_date"] == "2026-03-05"
    bad = mautic.patch(f"/api/contacts/{cid}/edit", json={"lifetime_value": "abc"})
    assert bad.json()["errors"][0]["message"] == "lifetime_value: This value is not valid."
    assert SEED_FIELDS["lifetime_value"] in mautic.state.fields


def test_select_values_outside_the_options_are_400(make_mautic) -> None:
    """A select value that is not one of the option values (a label included) is rejected."""
    mautic = make_mautic()
    field = {"label": "Plan", "type": "select", "properties": {"list": [{"label": "Pro", "value": "pro"}]}}
    alias = mautic.post("/api/fields/contact/new", json=field).json()["field"]["alias"]
    cid = mautic.new_contact(email="sel@example.com")
    assert mautic.patch(f"/api/contacts/{cid}/edit", json={alias: "pro"}).status_code == 200
    assert mautic.patch(f"/api/contacts/{cid}/edit", json={alias: "Pro"}).status_code == 400


def test_booleans_and_tags(make_mautic) -> None:
    """false is stored as 0 on create; "-tag" removes a tag and keeps the others."""
    mautic = make_mautic()
    alias = mautic.post("/api/fields/contact/new", json={"label": "Paying", "type": "boolean"}).json()["field"]["alias"]
    cid = mautic.new_contact(email="bool@example.com", **{alias: False}, tags=["alpha", "beta"])
    contact = mautic.state.contacts[cid]
    assert contact.values[alias] == 0
    mautic.patch(f"/api/contacts/{cid}/edit", json={alias: "yes", "tags": ["-beta"]})
    assert contact.values[alias] == 1
    assert [mautic.state.tag_names[t] for t in contact.tag_ids] == ["alpha"]


def test_stage_and_array_email_are_uncaught_500s(mautic: Mautic) -> None:
    """A non-existent stage id or an array email throw inside Mautic: 500, nothing saved."""
    assert mautic.post("/api/contacts/new", json={"email": "s@example.com", "stage": 999}).status_code == 500
    assert mautic.state.contact_by_email("s@example.com") is None
    assert mautic.post("/api/contacts/new", json={"email": ["a@example.com"]}).status_code == 500


def test_delete_and_memberships_of_a_contact(mautic: Mautic) -> None:
    """DELETE answers the contact with a null id; memberships of a fresh contact are empty arrays."""
    cid = mautic.new_contact(email="del@example.com")
    assert mautic.get(f"/api/contacts/{cid}/segments").json() == {"total": 0, "lists": []}
    assert mautic.get(f"/api/contacts/{cid}/campaigns").json() == {"total": 0, "campaigns": []}
    deleted = mautic.delete(f"/api/contacts/{cid}/delete")
    assert deleted.status_code == 200 and deleted.json()["contact"]["id"] is None
    assert mautic.get(f"/api/contacts/{cid}").status_code == 404
    assert mautic.state.contact_by_email("del@example.com") is None
