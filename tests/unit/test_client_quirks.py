"""The client against the second-pass facts D1-D13 that can reach it (respx-mocked Mautic answers).

Bodies follow the real 5.1.0 answers: the contact shape of 05-contacts-batch.json, booleans as the
contacts list prints them (D5), batch answers keyed by position out of order (D9).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from mautic_ctl.errors import PermanentError
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.mautic.values import FieldFormat, as_bool, field_values, outgoing, same_as_stored, stored

pytestmark = pytest.mark.anyio
BASE = "https://mautic.test"
MONEY = FieldFormat("number", scale=2)
PLAIN_NUMBER = FieldFormat("number")
FORMATS = {"lifetime_value": MONEY, "seats": PLAIN_NUMBER, "firstname": FieldFormat("text")}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mock():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def client(**kwargs: Any) -> MauticClient:
    return MauticClient(BASE, auth=httpx.BasicAuth("admin", "pw"), retry_max_wait=0.001, **kwargs)


def contact(contact_id: int, email: str, opted: Any = None) -> dict[str, Any]:
    """An existing contact as batch and list answers print it (string field ids, D5 string booleans)."""
    entry = {"id": "51", "label": "Opted in", "alias": "opted", "type": "boolean", "group": "core", "value": opted}
    email_entry = {"id": "6", "label": "Email", "alias": "email", "type": "email", "group": "core", "value": email}
    return {
        "id": contact_id,
        "points": 0,
        "fields": {
            "core": {"email": email_entry, "opted": entry},
            "social": [],
            "personal": [],
            "professional": [],
            "all": {"id": str(contact_id), "email": email, "opted": opted},
        },
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (1, True), ("1", True), ("yes", True), (False, False), (0, False), ("0", False), ("", False)],
)
def test_d5_booleans_are_read_in_every_form(raw: Any, expected: bool) -> None:
    """D5: the list and batch answers say "1"/"0", a GET 1/0, a PATCH echo true/false: all read alike."""
    assert as_bool(raw) is expected
    assert field_values(contact(7, "a@example.com", raw))["opted"] is expected


async def test_d5_success_flags_in_any_form(mock) -> None:
    """A segment batch add's per-id `success` read as a boolean: "0" is a failure, not a truthy string."""
    details = {"1": {"success": "1"}, "2": {"success": "0"}, "3": {"success": True}}
    mock.post("/api/segments/4/contacts/add").respond(200, json={"success": 1, "details": details})
    mock.post("/api/segments/4/contact/1/add").respond(200, json={"success": "0"})
    async with client() as c:
        assert await c.add_to_segment_batch(4, [1, 2, 3]) == {1: True, 2: False, 3: True}
        with pytest.raises(PermanentError):
            await c.add_to_segment(4, 1)


async def test_d7_one_contact_twice_goes_out_in_two_requests(mock) -> None:
    """D7: the same id twice in one batch/edit would create a duplicate contact; the repeat is sent in a
    second request, after the first, and the results keep the input order."""
    sent: list[list[dict[str, Any]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        sent.append(items)
        body = {"contacts": [contact(i["id"], f"{i['id']}@example.com") for i in items]}
        return httpx.Response(200, json={**body, "statusCodes": [200] * len(items)})

    mock.patch("/api/contacts/batch/edit").mock(side_effect=answer)
    async with client() as c:
        results = await c.update_contacts([{"id": 5, "city": "A"}, {"id": 6, "city": "B"}, {"id": 5, "lastname": "C"}])
    assert sent == [[{"id": 5, "city": "A"}, {"id": 6, "city": "B"}], [{"id": 5, "lastname": "C"}]]
    assert [(r.index, r.ok, r.contact_id) for r in results] == [(0, True, 5), (1, True, 6), (2, True, 5)]


async def test_d8_an_item_without_an_id_is_never_sent(mock) -> None:
    """D8: an id-less item would shift every later payload onto the wrong contact; it is refused here and
    the others go out alone."""
    route = mock.patch("/api/contacts/batch/edit").respond(
        200, json={"contacts": [contact(5, "a@example.com")], "statusCodes": [200]}
    )
    async with client() as c:
        results = await c.update_contacts([{"city": "X"}, {"id": None}, {"id": ""}, {"id": 5, "city": "Y"}])
    assert json.loads(route.calls[0].request.content) == [{"id": 5, "city": "Y"}]
    assert [(r.ok, r.status) for r in results] == [(False, 0), (False, 0), (False, 0), (True, 200)]
    assert "no contact id" in str(results[0].error)


async def test_d9_a_keyed_object_answer_out_of_order_reads_like_an_array(mock) -> None:
    """D9: {"1": …, "0": …} (an item created before an existing one) is matched by key, not position."""
    body = {
        "contacts": {"1": contact(8, "b@example.com"), "0": contact(9, "new@example.com")},
        "statusCodes": [201, 200],
    }
    mock.post("/api/contacts/batch/new").respond(201, json=body)
    async with client() as c:
        results = await c.upsert_contacts([{"email": "new@example.com"}, {"email": "b@example.com"}])
    assert [(r.index, r.contact_id, r.created) for r in results] == [(0, 9, True), (1, 8, False)]


async def test_d1_d2_d4_values_go_out_as_mautic_will_keep_them(mock) -> None:
    """D2: money is sent rounded half-up to cents (Mautic would round 19.991 up to 19.99 -> 20.00 otherwise);
    D1: a number without a scale is sent as a rounded int (Mautic would truncate 7.6 to 7); D4: text is
    trimmed. The formats come from GET /api/fields/contact (scale as the string Mautic prints)."""
    fields = {
        "total": 2,
        "fields": {
            "48": {"id": 48, "alias": "lifetime_value", "type": "number", "properties": {"scale": "2"}},
            "49": {"id": 49, "alias": "seats", "type": "number", "properties": {}},
        },
    }
    mock.get("/api/fields/contact").respond(200, json=fields)
    route = mock.post("/api/contacts/new").respond(200, json={"contact": contact(3, "c@example.com")})
    async with client() as c:
        assert await c.load_field_formats() == {"lifetime_value": MONEY, "seats": PLAIN_NUMBER}
        await c.upsert_contact({"email": " c@example.com ", "lifetime_value": 19.991, "seats": 7.6, "x": " y "})
    assert json.loads(route.calls[0].request.content) == {
        "email": "c@example.com",
        "lifetime_value": 19.99,
        "seats": 8,
        "x": "y",
    }


async def test_d6_an_upsert_never_sends_overwrite_with_blank(mock) -> None:
    """D6: POST /new with overwriteWithBlank resets points (and O19 blanks every unsent field): never sent."""
    route = mock.post("/api/contacts/new").respond(200, json={"contact": contact(3, "c@example.com")})
    async with client() as c:
        await c.upsert_contact({"email": "c@example.com", "overwriteWithBlank": True, "city": None})
    assert json.loads(route.calls[0].request.content) == {"email": "c@example.com"}


@pytest.mark.parametrize(
    ("current", "wanted", "fmt", "same"),
    [
        ("pro", "  pro ", FieldFormat("text"), True),
        (19.99, 19.991, MONEY, True),
        (20.0, 19.995, MONEY, True),
        (19.99, 19.98, MONEY, False),
        (7, 7.4, PLAIN_NUMBER, True),
        (7, 7.5, PLAIN_NUMBER, False),
        ("1", True, FieldFormat("boolean"), True),
        (0, False, FieldFormat("boolean"), True),
        ("Ann@Example.com", "ann@example.com", FieldFormat("email"), True),
        (None, "", FieldFormat("text"), True),
    ],
)
def test_a_replayed_value_compares_equal_to_what_mautic_holds(current: Any, wanted: Any, fmt, same: bool) -> None:
    """Compared as Mautic stores and shows them (trimmed, rounded, booleans in any form), a replay is no
    change and so costs no call; a real change still is one."""
    assert same_as_stored(current, wanted, fmt) is same


def test_stored_reproduces_mautics_own_rounding() -> None:
    """What Mautic keeps for a value sent as is: D1 truncation, D2 rounding toward +infinity."""
    assert stored(2.5, PLAIN_NUMBER) == 2 and stored(8.75, PLAIN_NUMBER) == 8
    assert stored(3.14159, MONEY) == 3.15 and stored(-1.239, MONEY) == -1.23
    assert stored(1.231, FieldFormat("number", scale=2, roundmode=6)) == 1.23
    assert outgoing({"lifetime_value": 3.14159}, FORMATS) == {"lifetime_value": 3.14}
