"""Changes to a district's records, and the Clever events each one produces (v3 and v2.1).

Every function builds new objects (records are never changed in place, so events can hold
them), stores them, and returns the events as :class:`Pending`; the district orders them as a
batch. What each change emits follows the seeds: a contact with an ``sis_id`` keeps its ID
(``users.updated`` with ``previous_attributes``), one without gets a new ID for any change of
its contact info (``users.deleted`` + ``users.created``); v2.1 contact records are not stable,
so a changed pair is a ``contacts.deleted`` + ``contacts.created`` pair (seeds/001).
SIS data may list students that are gone or not there yet; the ``allow_missing`` flags and
``keep_listed`` make such histories on purpose.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fakeclever.events import Pending, pending
from fakeclever.exceptions import InvalidChangeError, UnknownRecordError
from fakeclever.records import (
    User,
    has_sis_id,
    is_contact,
    new_student,
    relationships_of,
    restored_student,
    v2_contact,
    v2_student,
)
from fakeclever.sis import contact_name, pick_phone, pick_phone_type
from fakeclever.store import Store

_GRADES = ("Kindergarten", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")


@dataclass
class Change:
    """The events of one change, per feed."""

    v3: list[Pending] = field(default_factory=list)
    v2: list[Pending] = field(default_factory=list)

    def __iadd__(self, other: Change) -> Change:
        self.v3 += other.v3
        self.v2 += other.v2
        return self


def previous_attributes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The prior values of the fields that changed; nested objects only where they differ."""
    found: dict[str, Any] = {}
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after and (key in old) == (key in new):
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            found[key] = previous_attributes(before, after)
        else:
            found[key] = before
    return found


def _v2_info(user: User) -> tuple[Any, ...]:
    """What a v2.1 Contact shows of its v3 contact user, besides the relationship."""
    role = user["roles"]["contact"]
    return (user.get("email"), user.get("name"), role.get("phone"), role.get("phone_type"),
            role.get("sis_id"))  # fmt: skip


class Mutations:
    """Apply changes to one district's store and say what Clever would emit."""

    def __init__(self, store: Store, *, now: Callable[[], str], contacts_type: str) -> None:
        self.store = store
        self._now = now
        self._contacts_type = contacts_type  # "contacts" (v2.1) or "studentcontacts" (v1.2)

    def contact(self, contact_id: str) -> User:
        """A current contact, or :class:`UnknownRecordError`."""
        user = self.store.user(contact_id)
        if user is None or not is_contact(user):
            raise UnknownRecordError(f"no contact {contact_id} in district {self.store.tag}")
        return user

    def student(self, student_id: str) -> User:
        """A current student, or :class:`UnknownRecordError`."""
        user = self.store.user(student_id)
        if user is None or "student" not in (user.get("roles") or {}):
            raise UnknownRecordError(f"no student {student_id} in district {self.store.tag}")
        return user

    def set_relationships(self, old: User, entries: Sequence[dict[str, Any]]) -> Change:
        """A contact's relationships replaced: updated, or deleted when none are left."""
        if not entries:
            return self.delete_contact(old["id"])
        role = {**old["roles"]["contact"], "student_relationships": list(entries)}
        return self.replace(old, {**old, "roles": {**old["roles"], "contact": role}})

    def update_info(self, old: User, **fields: Any) -> Change:
        """Contact info (phone, phone_type, email, name) changed, as Clever treats it."""
        role = dict(old["roles"]["contact"])
        new = dict(old)
        for key, value in fields.items():
            if key in ("phone", "phone_type"):
                role[key] = value
            elif key == "name":
                new["name"] = {"last": value} if isinstance(value, str) else value
            else:
                new[key] = value
        new["roles"] = {**old["roles"], "contact": role}
        if new == old:
            return Change()
        if has_sis_id(old):
            return self.replace(old, new)
        return self.recreate(old, new)

    def replace(self, old: User, new: User) -> Change:
        """Same ID, new data: ``users.updated`` (and v2.1 pairs re-created where they differ)."""
        new = {**new, "last_modified": self._now()}
        pairs = self.store.v2_ids_of(old["id"]) if is_contact(old) else {}
        self.store.put(old["id"], new)
        kind = "contact" if is_contact(old) else "student"
        change = Change(v3=[pending("updated", kind, "users", new, previous_attributes(old, new))])
        if is_contact(old):
            change.v2 = self._v2_contacts(old, new, pairs)
        else:
            before, after = v2_student(old), v2_student(new)
            diff = previous_attributes(before, after)
            change.v2 = [pending("updated", "student", "students", after, diff)]
        return change

    def recreate(self, old: User, new: User) -> Change:
        """A contact without ``sis_id`` changed: the old ID deleted, the data under a new ID."""
        change = self.delete_contact(old["id"])
        change += self.create(new)[1]
        return change

    def create(self, template: User) -> tuple[str, Change]:
        """Store a new contact made from ``template`` (its ID and times are replaced)."""
        store = self.store
        new_id = store.new_user_id()
        entries = relationships_of(template)
        v2_ids = [store.new_v2_id() for _ in entries]
        now = self._now()
        role = {**template["roles"]["contact"], "legacy_id": v2_ids[0] if v2_ids else ""}
        user = {**template, "id": new_id, "created": now, "last_modified": now,
                "district": store.district_id, "roles": {"contact": role}}  # fmt: skip
        store.put(new_id, user)
        change = Change(v3=[pending("created", "contact", "users", user)])
        for entry, v2_id in zip(entries, v2_ids, strict=True):
            store.set_v2_pair(new_id, entry["student"], v2_id)
            record = v2_contact(user, entry, v2_id)
            change.v2.append(pending("created", "contact", self._contacts_type, record))
        return new_id, change

    def new_contact(
        self, student_ids: Sequence[str], relationship: str | None, type_: str | None,
        sis_id: str | None, *, allow_missing: bool = False,
    ) -> tuple[str, Change]:  # fmt: skip
        """A contact the SIS added, related to ``student_ids`` (current students unless
        ``allow_missing``)."""
        for student_id in student_ids:
            if not allow_missing:
                self.student(student_id)
        if not student_ids:
            raise InvalidChangeError("a Clever contact relates to at least one student")
        rng = random.Random(len(self.store.created_ids))  # noqa: S311 - test data
        entries = [{"relationship": relationship, "student": s, "type": type_}
                   for s in dict.fromkeys(student_ids)]  # fmt: skip
        name = contact_name(rng)
        role = {"phone": pick_phone(rng), "phone_type": pick_phone_type(rng), "sis_id": sis_id,
                "student_relationships": entries}  # fmt: skip
        template = {"email": None, "name": name, "roles": {"contact": role}}
        return self.create(template)

    def delete_contact(self, contact_id: str) -> Change:
        """A contact removed from the SIS."""
        old = self.contact(contact_id)
        pairs = self.store.v2_ids_of(contact_id)
        self.store.put(contact_id, None)
        change = Change(v3=[pending("deleted", "contact", "users", old)])
        change.v2 = self._v2_contacts(old, None, pairs)
        return change

    def delete_student(self, student_id: str, *, keep_listed: bool = False) -> Change:
        """A student removed: its contacts lose it (``users.updated``) before it goes, or,
        with ``keep_listed``, keep listing it (only the student's own deletion)."""
        old = self.student(student_id)
        change = Change()
        for contact_id in [] if keep_listed else self.store.contacts_of(student_id):
            contact = self.contact(contact_id)
            kept = [e for e in relationships_of(contact) if e["student"] != student_id]
            change += self.set_relationships(contact, kept)
        self.store.put(student_id, None)
        change.v3.append(pending("deleted", "student", "users", old))
        change.v2.append(pending("deleted", "student", "students", v2_student(old)))
        return change

    def create_student(self, student_id: str | None) -> tuple[str, Change]:
        """A student created now: a fresh one, one from ``new_student_id()``, or a deleted
        one back under its old ID (its last record)."""
        store = self.store
        student_id = student_id if student_id is not None else store.new_student_id()
        if store.user(student_id) is not None:
            raise InvalidChangeError(f"{student_id} is a current user of district {store.tag}")
        former = store.former_students.get(student_id)
        index = store.created_student_index(student_id)
        if former is not None:
            user = restored_student(former, self._now())
        elif index is not None:
            population = store.population
            user = new_student(population, store.district_id, student_id,
                               population.students + index, self._now())  # fmt: skip
        else:
            raise InvalidChangeError(f"{student_id} is neither a former student of district "
                                     f"{store.tag} nor from new_student_id()")  # fmt: skip
        store.put(student_id, user)
        change = Change(v3=[pending("created", "student", "users", user)])
        change.v2.append(pending("created", "student", "students", v2_student(user)))
        return student_id, change

    def touch(self, user_id: str) -> Change:
        """A rollover's update: a student moves up a grade; a contact is re-synced."""
        old = self.store.user(user_id)
        if old is None:
            raise UnknownRecordError(f"no user {user_id} in district {self.store.tag}")
        if is_contact(old):
            return self.replace(old, old)
        role = old["roles"]["student"]
        grade = role.get("grade")
        at = _GRADES.index(grade) if grade in _GRADES else -1
        student = {**role, "grade": _GRADES[(at + 1) % len(_GRADES)], "last_modified": self._now()}
        return self.replace(old, {**old, "roles": {**old["roles"], "student": student}})

    def _v2_contacts(self, old: User, new: User | None, pairs: dict[str, str]) -> list[Pending]:
        """v2.1 events for a contact's change: a changed pair is deleted and re-created."""
        store, kind = self.store, self._contacts_type
        events: list[Pending] = []
        contact_id = old["id"]
        new_entries = {e["student"]: e for e in relationships_of(new or {})}
        old_entries = {e["student"]: e for e in relationships_of(old)}
        same_info = new is not None and _v2_info(old) == _v2_info(new)
        for student, v2_id in pairs.items():
            if same_info and new_entries.get(student) == old_entries[student]:
                continue
            store.set_v2_pair(contact_id, student, None)
            events.append(
                pending("deleted", "contact", kind, v2_contact(old, old_entries[student], v2_id))
            )
        if new is None:
            return events
        kept = store.v2_pairs.get(contact_id, {})
        for student, entry in new_entries.items():
            if student not in kept:
                v2_id = store.new_v2_id()
                store.set_v2_pair(contact_id, student, v2_id)
                events.append(pending("created", "contact", kind, v2_contact(new, entry, v2_id)))
        return events
