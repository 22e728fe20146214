"""A realistic random mixture of changes that yields exactly the number of events asked for.

The demo's trickle and the benchmarks' backlogs use it, and tests count on ``count`` v3
events appearing (e.g. the newest event before a sync is ``events()[count - 1]``), so an
operation that would emit more events than are left is swapped for a one-event change.

With ``quirks`` the mixture also holds what Clever and SIS data do that a pipeline must not
trip on: earlier events re-sent under their own IDs (on both feeds; these copies come on top
of ``count``), students deleted while contacts keep listing them, deleted students back
under their old IDs, contacts listing missing students, and cosmetic rewrites of a
relationship's text. Bringing back a student deleted earlier in the same call splits the
batch there (see ``FakeDistrict.create_student``). Without ``quirks`` the stream is exactly
what it always was for a seed: benchmarks compare runs across versions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from fakeclever.exceptions import InvalidChangeError
from fakeclever.ids import Space, make_id
from fakeclever.records import has_sis_id, relationships_of
from fakeclever.sis import MISSING, contact_email, contact_name, pick_phone, pick_relationship

if TYPE_CHECKING:
    from fakeclever.events import Event, EventFeed
    from fakeclever.store import Store


class ChangeableDistrict(Protocol):
    """What random changes drive: ``FakeDistrict``'s mutations (typed here, so that this
    module needs no import of ``fakeclever.district``, which imports it)."""

    @property
    def id(self) -> str: ...

    @property
    def store(self) -> Store: ...

    def contact_ids(self, limit: int | None = None) -> Iterator[str]: ...

    def student_ids(self, limit: int | None = None) -> Iterator[str]: ...

    def feed(self, api_version: str) -> EventFeed: ...

    def add_relationship(
        self, contact_id: str, student_id: str, relationship: str | None = ...,
        type: str | None = ..., *, allow_missing_student: bool = False,
    ) -> list[Event]: ...  # fmt: skip

    def remove_relationship(self, contact_id: str, student_id: str) -> list[Event]: ...

    def change_relationship(
        self, contact_id: str, student_id: str, relationship: str | None = ...,
        type: str | None = ...,
    ) -> list[Event]: ...  # fmt: skip

    def update_contact(
        self, contact_id: str, *, phone: str | None = ..., email: str | None = ...,
        name: str | dict[str, Any] | None = ..., phone_type: str | None = ...,
    ) -> list[Event]: ...  # fmt: skip

    def create_contact(
        self, student_ids: list[str], relationship: str | None = ...,
        type: str | None = ..., sis_id: str | None = None, *,
        allow_missing_students: bool = False,
    ) -> tuple[str, list[Event]]: ...  # fmt: skip

    def delete_contact(self, contact_id: str) -> list[Event]: ...

    def delete_student(self, student_id: str, *, keep_listed: bool = False) -> list[Event]: ...

    def new_student_id(self) -> str: ...

    def create_student(self, student_id: str | None = None) -> tuple[str, list[Event]]: ...

    def redeliver(
        self, count: int = 1, *, api_version: str = ..., event_ids: Sequence[str] | None = None
    ) -> list[Event]: ...

    def repeat_latest(self) -> list[Event]: ...


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
#: Only with ``quirks``; each emits one v3 event, except ``redeliver`` (copies only).
_QUIRKS = (
    ("redeliver", 3),
    ("delete_student_keep_listed", 3),
    ("recreate_student", 3),
    ("list_missing_student", 3),
    ("cosmetic_rewrite", 4),
)
_NAMES = tuple(name for name, _ in _OPERATIONS)
_WEIGHTS = tuple(weight for _, weight in _OPERATIONS)
_QUIRK_NAMES = _NAMES + tuple(name for name, _ in _QUIRKS)
_QUIRK_WEIGHTS = _WEIGHTS + tuple(weight for _, weight in _QUIRKS)
_QUIRK_CHANGES = frozenset(_QUIRK_NAMES[len(_NAMES) :]) - {"redeliver"}
_TRIES = 50


def random_changes(
    district: ChangeableDistrict, count: int, *, seed: int, quirks: bool = False
) -> list[Event]:
    """Apply random changes until exactly ``count`` new v3 events were emitted (re-sent
    copies, with ``quirks``, are not counted: they come on top)."""
    rng = random.Random(seed)  # noqa: S311 - test data
    names, weights = (_QUIRK_NAMES, _QUIRK_WEIGHTS) if quirks else (_NAMES, _WEIGHTS)
    emitted: list[Event] = []
    while len(emitted) < count:
        left = count - len(emitted)
        operation = rng.choices(names, weights=weights)[0]
        if operation == "redeliver":
            if _redeliver(district, rng):
                continue
            operation = "create"  # nothing flushed yet to re-send
        emitted += _one(district, rng, operation, left) or _one(district, rng, "create", left)
    return emitted


def _one(
    district: ChangeableDistrict, rng: random.Random, operation: str, left: int
) -> list[Event]:
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
    if operation in _QUIRK_CHANGES:
        return _quirk(district, rng, operation)
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


def _redeliver(district: ChangeableDistrict, rng: random.Random) -> bool:
    """Re-send 1-3 earlier events of each feed (the newest, or any retained); False when
    there are none yet (a batch re-sends only events flushed before it)."""
    sent = False
    for api_version in ("v3.0", "v2.1"):
        feed = district.feed(api_version)
        first, end = feed.first_retained(), len(feed)
        if first >= end:
            continue
        wanted = min(rng.randint(1, 3), end - first)
        newest = rng.random() < 0.5  # then each copy comes right after its original
        at = range(end - wanted, end) if newest else sorted(rng.sample(range(first, end), wanted))
        district.redeliver(api_version=api_version, event_ids=[feed.at(i)["id"] for i in at])
        sent = True
    return sent


def _quirk(district: ChangeableDistrict, rng: random.Random, operation: str) -> list[Event]:
    """One quirk that emits one v3 event, or [] when it does not fit."""
    if operation == "delete_student_keep_listed":
        student = _student(district, rng)
        return district.delete_student(student, keep_listed=True) if student else []
    if operation == "recreate_student":
        absent = _absent_students(district)
        return district.create_student(rng.choice(absent))[1] if absent else []
    contact_id = _contact(district, rng)
    if contact_id is None:
        return []
    entries = relationships_of(district.store.user(contact_id) or {})
    if operation == "list_missing_student":
        listed = {e["student"] for e in entries}
        candidates = [s for s in _absent_students(district) if s not in listed]
        missing = rng.choice(candidates) if candidates else district.new_student_id()
        relationship, type_ = (None if v == MISSING else v for v in pick_relationship(rng))
        return district.add_relationship(
            contact_id, missing, relationship, type_, allow_missing_student=True
        )
    entry = rng.choice(entries)
    present = [key for key in ("relationship", "type") if key in entry]
    fields = rng.sample(present, rng.randint(1, len(present))) if present else []
    rewrite = {key: _cosmetic(rng, entry[key]) for key in fields}
    return district.change_relationship(contact_id, entry["student"], **rewrite) if fields else []


def _absent_students(district: ChangeableDistrict) -> list[str]:
    """Deleted students, and student IDs handed out but not created (sorted: reproducible)."""
    store = district.store
    known = (*store.former_students, *store.created_student_ids)
    return sorted({s for s in known if not store.is_student(s)})


def _cosmetic(rng: random.Random, value: Any) -> Any:
    """The same text spelled otherwise: case, surrounding blanks, or null <-> ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    core = value.strip()
    if not core:
        return None if value == "" else ""
    spellings = {core, core.lower(), core.upper(), core.capitalize(), f" {core}", f"{core} ",
                 f" {core.upper()}", f"{core.lower()}  "} - {value}  # fmt: skip
    return rng.choice(sorted(spellings))


def _info(rng: random.Random, contact_id: str) -> dict[str, Any]:
    field = rng.choice(("phone", "phone", "email", "name"))
    if field == "phone":
        return {"phone": pick_phone(rng) or "3302801898"}
    name = contact_name(rng)
    if field == "email":
        return {"email": contact_email(rng, name, rng.randrange(10**6)) or contact_id[-6:]}
    return {"name": name}


def _contact(district: ChangeableDistrict, rng: random.Random) -> str | None:
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


def _student(district: ChangeableDistrict, rng: random.Random) -> str | None:
    store = district.store
    for _ in range(_TRIES):
        user_id = make_id(store.tag, Space.STUDENT, rng.randrange(store.population.students))
        if store.exists(user_id):
            return user_id
    return next(district.student_ids(1), None)
