"""A district's current state: the lazy base population plus an in-memory overlay of changes.

The overlay maps a user ID to its current object (``None`` once deleted); anything not in it
is the generated base record. Lists are paged through ID *sequences* (a virtual range of
base IDs, then the IDs created later: contacts, then students; see ``segments``), so
``starting_after`` is a binary search and a page costs O(page) however big the district is.
The v2.1 view (one Contact per contact and student) is derived the same way: base pairs by
arithmetic, changed contacts from the overlay. Deleted students' last records are kept, so
a student can come back under its old ID.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from fakeclever.ids import V2_SLOTS, Space, make_id, parse_id
from fakeclever.population import Population
from fakeclever.records import User, base_contact, base_student, is_contact, relationships_of
from fakeclever.records import v2_contact as build_v2_contact
from fakeclever.segments import IdRange

Pair = tuple[str, str, str | None, str | None]
#: Base records recently built; a change reads its record several times.
_BASE_CACHE = 16_384


class Store:
    """Base population + overlay of one district, and the v2.1 contacts derived from them."""

    def __init__(self, population: Population, district_id: str) -> None:
        self.population = population
        self.district_id = district_id
        self.tag = population.tag
        self.users: dict[str, User | None] = {}
        self.created_ids: list[str] = []  # contacts created after the base, ascending
        self.created_student_ids: list[str] = []  # student IDs handed out later, ascending
        self.former_students: dict[str, User] = {}  # deleted student -> its last record
        self._extra_contacts: dict[str, set[str]] = {}  # student -> contacts from the overlay
        self.counts = {"students": population.students, "contacts": population.contacts}
        # v2.1: current pairs of every contact in the overlay, and who owns each v2 ID.
        self.v2_pairs: dict[str, dict[str, str]] = {}  # contact -> {student: v2 ID}
        self._v2_owner: dict[str, str] = {}  # v2 ID of an overlay contact -> contact ID
        self.v2_created_ids: list[str] = []
        self._base: OrderedDict[str, User] = OrderedDict()

    # --- v3 users -------------------------------------------------------------------------
    def user(self, user_id: str) -> User | None:
        """The current v3 user with that ID, or None (unknown or deleted)."""
        if user_id in self.users:
            return self.users[user_id]
        cached = self._base.get(user_id)
        if cached is not None:
            return cached
        parsed = parse_id(user_id)
        if parsed is None or parsed.tag != self.tag:
            return None
        pop = self.population
        if parsed.space == Space.STUDENT and parsed.counter < pop.students:
            user = base_student(pop, self.district_id, parsed.counter)
        elif parsed.space == Space.CONTACT and parsed.counter < pop.contacts:
            user = base_contact(pop, self.district_id, parsed.counter)
        else:
            return None
        self._base[user_id] = user
        if len(self._base) > _BASE_CACHE:
            self._base.popitem(last=False)
        return user

    def exists(self, user_id: str) -> bool:
        """Whether the user is current, without building its record."""
        if user_id in self.users:
            return self.users[user_id] is not None
        parsed = parse_id(user_id)
        if parsed is None or parsed.tag != self.tag:
            return False
        pop = self.population
        if parsed.space == Space.STUDENT:
            return parsed.counter < pop.students
        return parsed.space == Space.CONTACT and parsed.counter < pop.contacts

    def is_student(self, user_id: str) -> bool:
        """Whether a current student has that ID, without building its record."""
        if user_id in self.users:
            user = self.users[user_id]
            return user is not None and "student" in (user.get("roles") or {})
        parsed = parse_id(user_id)
        if parsed is None or parsed.tag != self.tag or parsed.space != Space.STUDENT:
            return False
        return parsed.counter < self.population.students

    def put(self, user_id: str, user: User | None) -> None:
        """Record a user's new state (None deletes it) and keep counts and indexes in step."""
        before = self.user(user_id)
        if before is None and user is None:
            return
        self._ensure_v2_pairs(user_id, before)
        self.users[user_id] = user
        role = "contacts" if is_contact(user or before or {}) else "students"
        if before is None:
            self.counts[role] += 1
        elif user is None:
            self.counts[role] -= 1
            if role == "students":
                self.former_students[user_id] = before
        for entry in relationships_of(user or {}):
            self._extra_contacts.setdefault(entry["student"], set()).add(user_id)

    def new_user_id(self) -> str:
        """An ID for a user created now: above every earlier ID of the district."""
        user_id = make_id(self.tag, Space.CREATED, len(self.created_ids))
        self.created_ids.append(user_id)
        return user_id

    def new_student_id(self) -> str:
        """An ID for a student created later: above every base and created contact ID."""
        student_id = make_id(self.tag, Space.CREATED_STUDENT, len(self.created_student_ids))
        self.created_student_ids.append(student_id)
        return student_id

    def created_student_index(self, student_id: str) -> int | None:
        """Which :meth:`new_student_id` handed out that ID (0 for the first), or None."""
        parsed = parse_id(student_id)
        if parsed is None or parsed.tag != self.tag or parsed.space != Space.CREATED_STUDENT:
            return None
        return parsed.counter if parsed.counter < len(self.created_student_ids) else None

    def id_segments(self, role: str | None) -> list[Sequence[str]]:
        """The ID sequences of a role, in ascending ID order."""
        pop = self.population
        students = IdRange(self.tag, Space.STUDENT, pop.students)
        contacts = IdRange(self.tag, Space.CONTACT, pop.contacts)
        if role == "student":
            return [students, self.created_student_ids]
        if role == "contact":
            return [contacts, self.created_ids]
        if role is None:
            return [students, contacts, self.created_ids, self.created_student_ids]
        return []

    def contacts_of(self, student_id: str) -> list[str]:
        """The current contacts relating to a student, ascending (for ``mycontacts``)."""
        candidates = set(self._extra_contacts.get(student_id, ()))
        parsed = parse_id(student_id)
        pop = self.population
        in_base = parsed and parsed.tag == self.tag and parsed.space == Space.STUDENT
        if parsed and in_base and parsed.counter < pop.students:
            candidates.update(map(pop.contact_id, pop.contacts_of_student(parsed.counter)))
        found = []
        for contact_id in sorted(candidates):
            user = self.user(contact_id)
            if user and any(e["student"] == student_id for e in relationships_of(user)):
                found.append(contact_id)
        return found

    def ground_truth(self) -> frozenset[Pair]:
        """Every (contact, student, relationship, type) that is a privilege now: the contact
        exists and lists the student, and the student exists.

        An unchanged base contact lists base students only, which exist unless the overlay
        deleted them, so the walk over the base reads the overlay and builds no record.
        """
        pop = self.population
        pairs: set[Pair] = set()
        users = self.users
        for chunk in range(pop.chunks if pop.contacts else 0):
            first = pop.contact_range(chunk).start
            for offset, entries in enumerate(pop.layout(chunk).relationships):
                contact_id = pop.contact_id(first + offset)
                if contact_id not in users:
                    for e in entries:
                        student = e["student"]
                        if student not in users or users[student] is not None:
                            pairs.add((contact_id, student, e.get("relationship"), e.get("type")))
        for contact_id, user in self.users.items():
            if user is not None and is_contact(user):
                live = [e for e in relationships_of(user) if self.is_student(e["student"])]
                pairs.update(_pairs(contact_id, live))
        return frozenset(pairs)

    # --- v2.1 contacts --------------------------------------------------------------------
    def v2_segments(self) -> list[Sequence[str]]:
        """The v2.1 contact ID sequences in ascending order."""
        count = self.population.contacts * V2_SLOTS
        return [IdRange(self.tag, Space.V2_CONTACT, count), self.v2_created_ids]

    def v2_contact(self, v2_id: str) -> dict[str, Any] | None:
        """The current v2.1 Contact with that ID, or None."""
        owner = self._v2_owner.get(v2_id)
        if owner is not None:
            user = self.user(owner)
            pairs = self.v2_pairs.get(owner, {})
            student = next((s for s, vid in pairs.items() if vid == v2_id), None)
            if user is None or student is None:
                return None
            return self.v2_of_pair(user, student, v2_id)
        parsed = parse_id(v2_id)
        if parsed is None or parsed.tag != self.tag or parsed.space != Space.V2_CONTACT:
            return None
        index, slot = divmod(parsed.counter, V2_SLOTS)
        pop = self.population
        if index >= pop.contacts or pop.contact_id(index) in self.v2_pairs:
            return None
        entries = pop.relationships(index)
        if slot >= len(entries):
            return None
        return build_v2_contact(base_contact(pop, self.district_id, index), entries[slot], v2_id)

    def v2_of_pair(self, user: User, student_id: str, v2_id: str) -> dict[str, Any]:
        """The v2.1 Contact of ``user``'s relationship to ``student_id``."""
        entry = next(e for e in relationships_of(user) if e["student"] == student_id)
        return build_v2_contact(user, entry, v2_id)

    def v2_ids_of(self, contact_id: str) -> dict[str, str]:
        """``{student: v2 ID}`` of a contact's current v2.1 records."""
        self._ensure_v2_pairs(contact_id, self.user(contact_id))
        return dict(self.v2_pairs.get(contact_id, {}))

    def v2_id_for(self, contact_id: str, student_id: str) -> str | None:
        """The v2.1 ID of a (contact, student) pair, without touching the overlay."""
        if contact_id in self.v2_pairs:
            return self.v2_pairs[contact_id].get(student_id)
        parsed = parse_id(contact_id)
        if parsed is None or parsed.space != Space.CONTACT or not self.exists(contact_id):
            return None
        entries = self.population.relationships(parsed.counter)
        for slot, entry in enumerate(entries):
            if entry["student"] == student_id:
                return make_id(self.tag, Space.V2_CONTACT, parsed.counter * V2_SLOTS + slot)
        return None

    def set_v2_pair(self, contact_id: str, student_id: str, v2_id: str | None) -> None:
        """Point a (contact, student) pair at a v2.1 ID, or drop it."""
        pairs = self.v2_pairs.setdefault(contact_id, {})
        old = pairs.pop(student_id, None)
        if old is not None:
            self._v2_owner.pop(old, None)
        if v2_id is not None:
            pairs[student_id] = v2_id
            self._v2_owner[v2_id] = contact_id

    def new_v2_id(self) -> str:
        """A v2.1 contact ID for a record created now."""
        v2_id = make_id(self.tag, Space.V2_CREATED, len(self.v2_created_ids))
        self.v2_created_ids.append(v2_id)
        return v2_id

    def _ensure_v2_pairs(self, contact_id: str, before: User | None) -> None:
        """Copy a base contact's derived v2.1 IDs into the overlay before it first changes."""
        if contact_id in self.v2_pairs or before is None or not is_contact(before):
            return
        parsed = parse_id(contact_id)
        self.v2_pairs[contact_id] = {}
        if parsed is not None and parsed.space == Space.CONTACT:
            for slot, entry in enumerate(relationships_of(before)):
                v2_id = make_id(self.tag, Space.V2_CONTACT, parsed.counter * V2_SLOTS + slot)
                self.set_v2_pair(contact_id, entry["student"], v2_id)


def _pairs(contact_id: str, entries: Sequence[dict[str, Any]]) -> Iterator[Pair]:
    for entry in entries:
        yield (contact_id, entry["student"], entry.get("relationship"), entry.get("type"))
