"""The contact write pipeline shared by POST /new, PATCH/PUT /edit and the batch endpoints.

It reproduces, in this order, what Mautic 5.1.0 does with a payload: 500 for the inputs that throw
(a stage id, nested tags, string frequencyRules, an array email), silent dropping of unknown aliases,
of "" / null (unless overwriteWithBlank) and of values whose int cast is 0 (POST/PATCH on an existing
contact only: a contact being created keeps them, D3), per-field validation (400), the unique-email
check (422), then the save. PUT forces overwriteWithBlank and blanks every field it was not sent, points
included (D6); so does a POST upsert that sends overwriteWithBlank (O19). A write that changes nothing
leaves dateModified alone, and dateIdentified is set only once the contact has a name, an email, a
company or a social field (D10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contact_view import View
from .errors import ServerError, ValidationFailed
from .php import is_numeric, truthy
from .state import Actor, Company, Contact, Field, MauticState, utcnow
from .values import SKIP, coerce, email_key, is_blank

SPECIAL_KEYS = frozenset(
    {
        "overwriteWithBlank",
        "tags",
        "owner",
        "stage",
        "points",
        "companies",
        "ipAddress",
        "lastActive",
        "doNotContact",
        "frequencyRules",
        "id",
        "utmtags",
    }
)
UNIQUE = "This field must be unique."
IDENTIFYING = frozenset({"firstname", "lastname", "email", "company"})


@dataclass
class WriteResult:
    contact: Contact
    created: bool
    view: View


class ContactWriter:
    """Applies payloads to the state on behalf of one authenticated actor."""

    def __init__(self, state: MauticState, actor: Actor) -> None:
        self.state = state
        self.actor = actor

    def upsert(self, params: dict[str, Any], *, existing_method: str = "POST") -> WriteResult:
        """POST /contacts/new (and batch/new items, with existing_method="PATCH"): dedupe on email."""
        key = email_key(params.get("email"))
        match = self.state.contact_by_email(key) if key else None
        if match is not None:
            return self.apply(match, params, existing_method)
        return self.apply(None, params, "POST")

    def apply(self, contact: Contact | None, params: Any, method: str) -> WriteResult:
        """Write `params` onto `contact` (None creates one) with the semantics of `method`."""
        if not isinstance(params, dict):
            raise ServerError()
        _reject_throwing(params)
        created = contact is None
        owb = method == "PUT" or truthy(params.get("overwriteWithBlank"))
        changes, bools = self._field_changes(params, method, owb, created)
        blank_all = owb and (method == "PUT" or (method == "POST" and not created))
        if blank_all:
            for f in self.state.fields.values():
                if f.is_published and f.alias != "points" and f.alias not in changes:
                    changes[f.alias] = None
        target = contact if contact is not None else Contact(id=0)
        self._check_unique(target, changes)
        before = dict(target.values)
        fingerprint = _fingerprint(target)
        now = utcnow()
        if created:
            target.id = self.state.next_id("contact")
            target.date_added = now
            target.created_by = self.actor
            self.state.add_contact(target)
        for alias, value in changes.items():
            self._set(target, alias, value)
        points_before = target.points
        if blank_all and not created:
            target.points = 0  # D6: a full-replace write resets the points too
        self._specials(target, params)
        if not created and _fingerprint(target) != fingerprint:
            target.date_modified = now
            target.modified_by = self.actor
        if target.date_identified is None and self._identified(target):
            target.date_identified = now
        view = self._view(target, created, before, bools, owb)
        if blank_all and method == "POST" and points_before:
            # D6: the upsert answer shows fields.core.points.value null when it reset points (recording
            # 02#19 shows 0 where there was nothing to reset)
            view.core_values["points"] = None
        return WriteResult(target, created, view)

    def _identified(self, contact: Contact) -> bool:
        """D10: a name, an email, a company or any social field makes a contact identified."""
        for alias, value in contact.values.items():
            f = self.state.field_by_alias.get(alias)
            if value not in (None, "") and (alias in IDENTIFYING or (f is not None and f.group == "social")):
                return True
        return False

    # ---- steps ---------------------------------------------------------------------------------------
    def _field_changes(
        self, params: dict[str, Any], method: str, owb: bool, created: bool
    ) -> tuple[dict[str, Any], set[str]]:
        changes: dict[str, Any] = {}
        bools: set[str] = set()
        violations: list[tuple[str, str]] = []
        for alias, raw in params.items():
            if alias in SPECIAL_KEYS:
                continue
            f = self.state.published_field(alias)
            if f is None:
                continue
            if is_blank(raw):
                if owb:
                    changes[alias] = None
                continue
            if method != "PUT" and not created and f.type != "boolean" and _casts_to_zero(raw):
                continue  # D3: only an existing contact drops zero-like values
            value, problem = coerce(f, raw)
            if problem is not None:
                violations.append((alias, problem))
            elif value is not SKIP:
                changes[alias] = value
                if f.type == "boolean":
                    bools.add(alias)
        if violations:
            raise ValidationFailed(violations)
        return changes, bools

    def _check_unique(self, target: Contact, changes: dict[str, Any]) -> None:
        email = changes.get("email")
        if email is None:
            return
        other = self.state.contact_by_email(email)
        if other is not None and other is not target and other.id != target.id:
            raise ValidationFailed([("email", UNIQUE)], code=422)

    def _set(self, contact: Contact, alias: str, value: Any) -> None:
        if alias == "email":
            self.state.set_email(contact, value)
        elif value is None:
            contact.values.pop(alias, None)
        else:
            contact.values[alias] = value
        if alias == "company" and value:
            self._link_company(contact, str(value))

    def _specials(self, contact: Contact, params: dict[str, Any]) -> None:
        points = params.get("points")
        if is_numeric(points) and int(float(points)) != 0:
            contact.points = int(float(points))
        if "tags" in params:
            self._tags(contact, params["tags"])
        if "owner" in params:
            owner = params["owner"]
            if is_blank(owner):
                contact.owner_id = None
            elif is_numeric(owner) and int(float(owner)) == 1:
                contact.owner_id = 1

    def _tags(self, contact: Contact, raw: Any) -> None:
        names = raw.split(",") if isinstance(raw, str) else list(raw or [])
        for name in (str(n).strip() for n in names):
            if not name:
                continue
            if name.startswith("-"):
                tid = self.state.tags.get(name[1:])
                if tid in contact.tag_ids:
                    contact.tag_ids.remove(tid)
            else:
                tid = self.state.tag_id(name)
                if tid not in contact.tag_ids:
                    contact.tag_ids.append(tid)

    def _link_company(self, contact: Contact, name: str) -> None:
        state = self.state
        company = next((c for c in state.companies.values() if c.name.lower() == name.lower()), None)
        if company is None:
            company = Company(state.next_id("company"), name, utcnow(), self.actor)
            state.companies[company.id] = company
        links = state.contact_companies.setdefault(contact.id, [])
        if all(cid != company.id for cid, _ in links):
            links.insert(0, (company.id, utcnow()))

    def _view(self, contact: Contact, created: bool, before: dict[str, Any], bools: set[str], owb: bool) -> View:
        view = View(shape="new" if created else "existing")
        if not created:
            # O2: a stored "yes" of an unsent boolean comes back as PHP true in write answers.
            for f in self.state.fields.values():
                if f.type == "boolean" and f.alias not in bools and contact.values.get(f.alias) == 1:
                    view.core_values[f.alias] = view.all_values[f.alias] = True
        for alias in bools:
            flag = bool(contact.values.get(alias))
            view.all_values[alias] = flag
            if created:
                view.core_values[alias] = True if flag else None
            else:
                view.core_values[alias] = before.get(alias)
        if owb:
            view.core_values["points"] = contact.points
            for f in self.state.fields.values():
                if f.alias == "points" or contact.values.get(f.alias) is not None or not f.is_published:
                    continue
                blank = _blank(f)
                view.core_values[f.alias] = blank
                view.all_values[f.alias] = blank if before.get(f.alias) is None or f.type == "number" else None
        return view


def _fingerprint(contact: Contact) -> tuple[Any, ...]:
    """Everything a contact write can change, to tell a write that changed nothing (D10)."""
    return (
        dict(contact.values),
        contact.points,
        list(contact.tag_ids),
        contact.owner_id,
        list(contact.company_ids),
        dict(contact.dnc),
    )


def _blank(f: Field) -> Any:
    if f.type == "number":
        return 0.0 if f.scale else 0
    return ""


def _casts_to_zero(raw: Any) -> bool:
    """Mautic drops numeric values whose (int) cast is 0: 0, "0", 0.5, "-0.2" (§5.4)."""
    return is_numeric(raw) and int(float(raw)) == 0


def _reject_throwing(params: dict[str, Any]) -> None:
    """The inputs that raise an uncaught exception in Mautic (observed 500s)."""
    if params.get("stage") not in (None, ""):
        raise ServerError()
    tags = params.get("tags")
    if isinstance(tags, list) and any(isinstance(t, list | dict) for t in tags):
        raise ServerError()
    if isinstance(params.get("frequencyRules"), str):
        raise ServerError()
    if isinstance(params.get("email"), list | dict):
        raise ServerError()
