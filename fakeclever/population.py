"""The lazy base population of a district: families of students and contacts, never stored.

A district of a million contacts must be added in well under a second, so nothing is built
up front. Students and contacts are cut into chunks by index (``floor(k * n / chunks)``), so
the chunk of any index is O(1) arithmetic. A chunk's layout (its families, and which of the
family's students each contact relates to, with what raw relationship and type) is derived
from ``(seed, chunk)`` when first needed and kept in a small LRU cache. A family never spans
chunks, so a student's contacts (``/users/{id}/mycontacts``) come from one chunk.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from fakeclever.ids import Space, make_id
from fakeclever.sis import MISSING, below, pick, pick_relationship

#: Contacts per chunk, roughly; small enough that a layout costs microseconds.
CHUNK_CONTACTS = 8
_CACHE_CHUNKS = 8192


@dataclass(frozen=True, slots=True)
class ChunkLayout:
    """Who relates to whom inside one chunk (indices are district-wide)."""

    #: Per contact of the chunk: its ``student_relationships`` entries, in Clever's shape.
    relationships: tuple[tuple[dict[str, Any], ...], ...]
    #: Per student of the chunk: the base contact indices related to it, ascending.
    contacts_of_student: tuple[tuple[int, ...], ...]


class Population:
    """Index arithmetic and chunk layouts of one district's generated students and contacts."""

    def __init__(self, *, seed: int, tag: str, contacts: int, students: int) -> None:
        if contacts < 0 or students < 1:
            raise ValueError("a district needs at least one student and no negative counts")
        self.seed = seed
        self.tag = tag
        self.contacts = contacts
        self.students = students
        biggest = max(contacts, students)
        chunks = max(1, min(students, -(-biggest // CHUNK_CONTACTS)))
        self.chunks = min(chunks, contacts) if contacts else chunks
        self._cache: OrderedDict[int, ChunkLayout] = OrderedDict()
        self._student_prefix = make_id(tag, Space.STUDENT, 0)[:-14]
        self._contact_prefix = make_id(tag, Space.CONTACT, 0)[:-14]

    def student_id(self, index: int) -> str:
        """The ID of base student ``index``."""
        return f"{self._student_prefix}{index:014x}"

    def contact_id(self, index: int) -> str:
        """The ID of base contact ``index``."""
        return f"{self._contact_prefix}{index:014x}"

    def contact_chunk(self, index: int) -> int:
        """The chunk holding base contact ``index``."""
        return ((index + 1) * self.chunks - 1) // self.contacts

    def student_chunk(self, index: int) -> int:
        """The chunk holding base student ``index``."""
        return ((index + 1) * self.chunks - 1) // self.students

    def contact_range(self, chunk: int) -> range:
        """The base contact indices of ``chunk``."""
        return range(
            chunk * self.contacts // self.chunks, (chunk + 1) * self.contacts // self.chunks
        )

    def student_range(self, chunk: int) -> range:
        """The base student indices of ``chunk``."""
        return range(
            chunk * self.students // self.chunks, (chunk + 1) * self.students // self.chunks
        )

    def relationships(self, contact: int) -> tuple[dict[str, Any], ...]:
        """Base contact ``contact``'s ``student_relationships`` (shared: never mutate)."""
        chunk = self.contact_chunk(contact)
        return self.layout(chunk).relationships[contact - self.contact_range(chunk).start]

    def contacts_of_student(self, student: int) -> tuple[int, ...]:
        """The base contacts that relate to base student ``student``."""
        chunk = self.student_chunk(student)
        return self.layout(chunk).contacts_of_student[student - self.student_range(chunk).start]

    def layout(self, chunk: int) -> ChunkLayout:
        """The layout of ``chunk``, derived from ``(seed, chunk)`` (cached)."""
        cached = self._cache.get(chunk)
        if cached is not None:
            self._cache.move_to_end(chunk)
            return cached
        layout = self._derive(chunk)
        self._cache[chunk] = layout
        if len(self._cache) > _CACHE_CHUNKS:
            self._cache.popitem(last=False)
        return layout

    def _derive(self, chunk: int) -> ChunkLayout:
        rng = random.Random(self.seed * 7_919_993 + chunk)  # noqa: S311 - test data, not crypto
        students = list(self.student_range(chunk))
        contacts = self.contact_range(chunk)
        families: list[list[int]] = []
        at = 0
        while at < len(students):
            size = min(pick(rng, (1, 1, 2, 2, 2, 3)), len(students) - at)
            families.append(students[at : at + size])
            at += size
        sizes = _contacts_per_family(rng, len(families), len(contacts))
        relationships: list[tuple[dict[str, Any], ...]] = []
        related: dict[int, list[int]] = {student: [] for student in students}
        contact = contacts.start
        for family, count in zip(families, sizes, strict=True):
            for nth in range(count):
                chosen = family if nth == 0 or rng.random() < 0.6 else _subset(rng, family)
                relationships.append(self._entries(rng, chosen))
                for student in chosen:
                    related[student].append(contact)
                contact += 1
        return ChunkLayout(
            relationships=tuple(relationships),
            contacts_of_student=tuple(tuple(related[student]) for student in students),
        )

    def _entries(self, rng: random.Random, students: list[int]) -> tuple[dict[str, Any], ...]:
        usual = pick_relationship(rng)
        entries = []
        for student in students:
            # Now and then a contact relates to one student in another capacity.
            relationship, type_ = usual if rng.random() < 0.85 else pick_relationship(rng)
            entries.append(_entry(relationship, self.student_id(student), type_))
        return tuple(entries)


def _entry(relationship: str | None, student: str, type_: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if relationship != MISSING:
        entry["relationship"] = relationship
    entry["student"] = student
    if type_ != MISSING:
        entry["type"] = type_
    return entry


def _contacts_per_family(rng: random.Random, families: int, contacts: int) -> list[int]:
    """Every family gets a contact while they last; the rest go to random families."""
    sizes = [0] * families
    if contacts < families:
        for family in rng.sample(range(families), contacts):
            sizes[family] = 1
        return sizes
    sizes = [1] * families
    for _ in range(contacts - families):
        sizes[below(rng, families)] += 1
    return sizes


def _subset(rng: random.Random, family: list[int]) -> list[int]:
    kept = [student for student in family if rng.random() < 0.5]
    return kept or [pick(rng, family)]
