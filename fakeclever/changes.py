"""A realistic random mixture of changes that yields exactly the number of events asked for.

The demo's trickle and the benchmarks' backlogs use it, and tests count on ``count`` v3
events appearing (e.g. the newest event before a sync is ``events()[count - 1]``), so an
operation that would emit more events than are left is swapped for a one-event change.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from fakeclever.exceptions import InvalidChangeError
from fakeclever.ids import Space, make_id
from fakeclever.records import has_sis_id, relationships_of
from fakeclever.sis import contact_email, contact_name, pick_phone, pick_relationship

if TYPE_CHECKING:
    from fakeclever.district import FakeDistrict
    from fakeclever.events import Event

_OPERATIONS = (
    ("update_info", 30),
    ("change_relationship", 16),
    ("add_relationship", 10),
    ("remove_relationship", 8),
    ("create_contact", 12),
    ("delete_contact", 6),
    ("delete_student", 1),
    ("repeat", 4),
)
_NAMES = tuple(name for name, _ in _OPERATIONS)
_WEIGHTS = tuple(weight for _, weight in _OPERATIONS)
_TRIES = 50


def random_changes(district: FakeDistrict, count: int, *, seed: int) -> list[Event]:
    """Apply random changes until exactly ``count`` v3 events were emitted."""
    rng = random.Random(seed)  # noqa: S311 - test data
    emitted: list[Event] = []
    while len(emitted) < count:
        left = count - len(emitted)
        operation = rng.choices(_NAMES, weights=_WEIGHTS)[0]
        emitted += _one(district, rng, operation, left) or _one(district, rng, "create", left)
    return emitted


def _one(district: FakeDistrict, rng: random.Random, operation: str, left: int) -> list[Event]:
    """One change of that kind, or [] when it does not fit (the caller falls back)."""
    if operation == "create" or operation == "create_contact":
        students = [s for s in (_student(district, rng) for _ in range(rng.randint(1, 2))) if s]
        if not students:
            raise InvalidChangeError(f"district {district.id} has no students left to change")
        relationship, type_ = pick_relationship(rng)
        sis_id = f"N{rng.randrange(10**7):07d}" if rng.random() < 0.5 else None
        return district.create_contact(students, relationship, type_, sis_id=sis_id)[1]
    if operation == "repeat":
        return district.repeat_latest()
    if operation == "delete_student":
        student = _student(district, rng)
        cost = 1 + len(district.store.contacts_of(student)) if student else left + 1
        return district.delete_student(student) if student and cost <= left else []
    contact_id = _contact(district, rng)
    if contact_id is None:
        return []
    contact = district.store.user(contact_id) or {}
    entries = relationships_of(contact)
    if operation == "update_info":
        if not has_sis_id(contact) and left < 2:
            operation = "change_relationship"
        else:
            return district.update_contact(contact_id, **_info(rng, contact_id))
    if operation == "delete_contact":
        return district.delete_contact(contact_id)
    if operation == "remove_relationship":
        return district.remove_relationship(contact_id, rng.choice(entries)["student"])
    if operation == "add_relationship":
        student = _student(district, rng)
        if student is None or any(e["student"] == student for e in entries):
            return []
        relationship, type_ = pick_relationship(rng)
        return district.add_relationship(contact_id, student, relationship, type_)
    entry = rng.choice(entries)
    for _ in range(_TRIES):
        relationship, type_ = pick_relationship(rng)
        if (relationship, type_) != (entry.get("relationship"), entry.get("type")):
            return district.change_relationship(contact_id, entry["student"], relationship, type_)
    return []


def _info(rng: random.Random, contact_id: str) -> dict[str, Any]:
    field = rng.choice(("phone", "phone", "email", "name"))
    if field == "phone":
        return {"phone": pick_phone(rng) or "3302801898"}
    name = contact_name(rng)
    if field == "email":
        return {"email": contact_email(rng, name, rng.randrange(10**6)) or contact_id[-6:]}
    return {"name": name}


def _contact(district: FakeDistrict, rng: random.Random) -> str | None:
    store = district.store
    base, created = store.population.contacts, len(store.created_ids)
    for _ in range(_TRIES):
        at = rng.randrange(base + created) if base + created else 0
        if base + created == 0:
            return None
        user_id = store.population.contact_id(at) if at < base else store.created_ids[at - base]
        if store.exists(user_id):
            return user_id
    return next(district.contact_ids(1), None)


def _student(district: FakeDistrict, rng: random.Random) -> str | None:
    store = district.store
    for _ in range(_TRIES):
        user_id = make_id(store.tag, Space.STUDENT, rng.randrange(store.population.students))
        if store.exists(user_id):
            return user_id
    return next(district.student_ids(1), None)
