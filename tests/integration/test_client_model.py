"""Property test: random sequences of the client's own operations against the in-process emulator.

After every step, what the client reads back (the list lookup that prints booleans as "0"/"1", the single
GET, the membership endpoints) must equal the emulator's state; every value the client wrote must be
stored exactly as the client meant it (money rounded to cents before sending, text trimmed, D1-D4); and
no batch may ever have produced a second contact for one email (D7/D8).
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mautic_ctl.emulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, EmulatorConfig, create_app
from mautic_ctl.mautic.client import MauticClient
from mautic_ctl.mautic.values import FieldFormat, as_bool, field_values

EMAILS = ("ann@example.com", "bob@example.com", "cy@example.com")
SEGMENTS = (1, 2, 3)
CAMPAIGNS = (1, 2)

text = st.text(alphabet="ab ", min_size=1, max_size=5).filter(lambda s: s.strip())
amount = st.decimals(min_value=1, max_value=5000, places=3).map(float) | st.decimals(
    min_value=-5000, max_value=-1, places=3
).map(float)
values = st.fixed_dictionaries(
    {},
    optional={
        "firstname": text,
        "lifetime_value": amount,
        "money": amount,
        "opted": st.booleans(),
    },
)
who = st.integers(0, len(EMAILS) - 1)
operations = st.one_of(
    st.tuples(st.just("upsert"), who, values),
    st.tuples(st.just("batch_upsert"), st.lists(st.tuples(who, values), min_size=1, max_size=4)),
    st.tuples(st.just("batch_edit"), st.lists(st.tuples(who, values), min_size=1, max_size=4)),
    st.tuples(st.sampled_from(["segment_add", "segment_remove"]), st.sampled_from(SEGMENTS), who),
    st.tuples(st.sampled_from(["campaign_add", "campaign_remove"]), st.sampled_from(CAMPAIGNS), who),
)


class Run:
    """One emulator, one client and what the client meant each field to hold."""

    def __init__(self, client: MauticClient, app: Any) -> None:
        self.client, self.state = client, app.state.emulator.state
        self.ids: dict[str, int] = {}
        self.meant: dict[tuple[str, str], Any] = {}
        self.formats: dict[str, FieldFormat] = {}

    async def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "upsert":
            email = EMAILS[op[1]]
            result = await self.client.upsert_contact({"email": email, **op[2]})
            self.ids[email] = result.contact_id
            self.remember(email, op[2])
        elif kind == "batch_upsert":
            items = [{"email": EMAILS[i], **fields} for i, fields in op[1]]
            for item, res in zip(items, await self.client.upsert_contacts(items), strict=True):
                assert res.ok, res.error
                self.ids[item["email"]] = res.contact_id
                self.remember(item["email"], item)
        elif kind == "batch_edit":
            known = [(EMAILS[i], fields) for i, fields in op[1] if EMAILS[i] in self.ids]
            items = [{"id": self.ids[email], **fields} for email, fields in known]
            for (email, fields), res in zip(known, await self.client.update_contacts(items), strict=True):
                assert res.ok, res.error
                self.remember(email, fields)
        elif EMAILS[op[2]] in self.ids:
            cid = self.ids[EMAILS[op[2]]]
            call = {
                "segment_add": self.client.add_to_segment,
                "segment_remove": self.client.remove_from_segment,
                "campaign_add": self.client.add_to_campaign,
                "campaign_remove": self.client.remove_from_campaign,
            }[kind]
            await call(op[1], cid)

    def remember(self, email: str, fields: dict[str, Any]) -> None:
        """What the caller means, worked out here and not by the client: cents and whole numbers rounded
        half-up, text without its surrounding spaces."""
        for alias, value in fields.items():
            if alias == "money":
                value = float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            elif alias == "lifetime_value":
                value = int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            elif isinstance(value, str):
                value = value.strip()
            if alias != "email":
                self.meant[(email, alias)] = value

    async def check(self) -> None:
        assert self.state.duplicate_emails() == {}
        for email, cid in self.ids.items():
            found = await self.client.find_contact_by_email(email)
            assert found is not None and found["id"] == cid
            listed, single = field_values(found), field_values(await self.client.get_contact(cid))
            for alias in ("firstname", "lifetime_value", "money", "opted"):
                truth = self.state.field_value(email, alias)
                if self.formats[alias].type == "boolean":
                    truth = as_bool(truth)
                assert listed[alias] == truth, (email, alias, listed[alias], truth)
                assert single[alias] == truth, (email, alias, single[alias], truth)
                if (email, alias) in self.meant:
                    assert truth == self.meant[(email, alias)], (email, alias, truth, self.meant[(email, alias)])
            assert set(await self.client.contact_segments(cid)) == self.state.segment_ids_of(cid)
            assert set(await self.client.contact_campaigns(cid)) == self.state.campaign_ids_of(cid)


async def _run(ops: list[tuple[Any, ...]]) -> None:
    app = create_app(EmulatorConfig())
    transport = httpx.ASGITransport(app=app)
    auth = httpx.BasicAuth(DEFAULT_USERNAME, DEFAULT_PASSWORD)
    async with MauticClient("http://mautic.test", auth=auth, transport=transport, retry_attempts=1) as client:
        admin = httpx.AsyncClient(transport=transport, base_url="http://mautic.test", auth=auth)
        async with admin:
            for body in (
                {"label": "Money", "alias": "money", "type": "number", "properties": {"scale": 2}},
                {"label": "Opted", "alias": "opted", "type": "boolean"},
            ):
                assert (await admin.post("/api/fields/contact/new", json=body)).status_code == 201
        run = Run(client, app)
        run.formats = await client.load_field_formats()
        for op in ops:
            await run.step(op)
            await run.check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=8))
def test_the_clients_view_matches_the_emulator_after_every_step(ops: list[tuple[Any, ...]]) -> None:
    """Random upserts, batch upserts, batch edits (one contact possibly twice), segment and campaign
    changes: after each, the client reads what the emulator holds and the emulator holds what was meant."""
    asyncio.run(_run(ops))
