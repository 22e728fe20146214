"""The pipeline benchmark's raw records: fake Clever districts' v3 events, as the poller files them.

Records are made with the poller's own functions (``connectors.mapping.event_record``, the
codec, ``district_key``), so the worker reads the very bytes it would read in production.
Each district starts with ``users.created`` for its students, then its contacts (Clever's
order within a batch), followed by the fake Clever's changes: a realistic mixture for the
throughput, and changes that each move one privilege for the latency.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.exceptions import BenchError
from connectors.mapping import event_record
from fakeclever import FakeClever, FakeDistrict
from fakeclever.ids import Space, district_tag, make_id
from fakeclever.records import relationships_of
from schemas.codec import default_codec
from schemas.keys import district_key
from streams.core import equivalent, privilege_of

API_VERSION = "v3.0"
#: Counters of the bench's own ``users.created`` event IDs, clear of the fake's feed.
_CREATED_EVENTS = 1 << 48
#: Share of a district's throughput records that are its initial students and contacts.
_INITIAL_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One raw record ready to send: its district (the key) and Clever event ID."""

    district_id: str
    event_id: str
    key: bytes
    value: bytes


def throughput_events(total: int, *, districts: int, seed: int = 1) -> list[RawEvent]:
    """About ``total`` records over ``districts`` districts, district after district.

    Each district: ``users.created`` for 60% of its share (a third students, two thirds
    contacts with their student relationships), then the fake Clever's random changes
    (updates, relationship changes, creations, deletions, repeats) for the rest.
    """
    fake = FakeClever()
    per_district = max(3, total // districts)
    contacts = max(1, round(per_district * _INITIAL_SHARE / 1.5))
    found: list[RawEvent] = []
    for ordinal in range(districts):
        district = fake.add_district(seed=seed + ordinal, contacts=contacts)
        initial = initial_events(district)
        changes = district.random_changes(max(0, per_district - len(initial)), seed=seed)
        found += initial + [_raw(event, district.id) for event in changes]
    return found


def initial_events(district: FakeDistrict) -> list[RawEvent]:
    """``users.created`` for every student, then every contact, of ``district`` as it is now."""
    users = [district.student(i) for i in district.student_ids()]
    users += [district.contact(i) for i in district.contact_ids()]
    tag = district_tag(district.id)
    return [
        _raw(_created(user, make_id(tag, Space.EVENT_V3, _CREATED_EVENTS + n)), district.id)
        for n, user in enumerate(users)
        if user is not None
    ]


def latency_districts(districts: int, *, contacts: int, seed: int = 1) -> list[FakeDistrict]:
    """Districts to preload the worker with before the steady changes."""
    fake = FakeClever()
    return [fake.add_district(seed=seed + n, contacts=contacts) for n in range(districts)]


def privilege_moves(districts: list[FakeDistrict], count: int, *, seed: int = 1) -> list[RawEvent]:
    """``count`` events, districts in turn, each of which grants, changes or revokes a pair.

    A contact gains a student, loses one it gained here (never its last, which would delete
    it), has a relationship changed, or a new contact is created with one student: each is
    one ``users.*`` event and at least one privilege change, so every record can be timed.
    """
    rng = random.Random(seed)  # noqa: S311 - test data
    moves = [_Mover(district, rng) for district in districts]
    found: list[RawEvent] = []
    for n in range(count):
        mover = moves[n % len(moves)]
        events = mover.move()
        if len(events) != 1:
            raise BenchError(
                f"a change of district {mover.district.id} gave {len(events)} events, not 1",
                hint="a bug in the benchmark, or the fake Clever's events changed",
            )
        found.append(_raw(events[0], mover.district.id))
    return found


class _Mover:
    """One district's source of privilege-moving changes."""

    def __init__(self, district: FakeDistrict, rng: random.Random) -> None:
        self.district = district
        self._rng = rng
        self._contacts = list(district.contact_ids())
        self._students = list(district.student_ids())
        #: (contact, student) pairs this bench added, which it may remove again.
        self._added: list[tuple[str, str]] = []

    def move(self) -> list[dict[str, Any]]:
        roll = self._rng.random()
        if roll < 0.35 or (roll < 0.6 and not self._added):
            return self._add()
        if roll < 0.6:
            contact, student = self._added.pop(self._rng.randrange(len(self._added)))
            return self.district.remove_relationship(contact, student)
        if roll < 0.9:
            return self._change()
        student = self._rng.choice(self._students)
        sis_id = f"B{self._rng.randrange(10**7):07d}"  # with one, no re-creation on changes
        new_id, events = self.district.create_contact([student], "Guardian", "Guardian", sis_id)
        self._contacts.append(new_id)
        return events

    def _add(self) -> list[dict[str, Any]]:
        while True:  # a student the contact does not hold yet; districts have plenty
            contact = self._rng.choice(self._contacts)
            student = self._rng.choice(self._students)
            held = self._held(contact)
            if student not in held:
                self._added.append((contact, student))
                return self.district.add_relationship(contact, student, "Parent", "Parent")

    def _change(self) -> list[dict[str, Any]]:
        contact = self._rng.choice(self._contacts)
        entry = self._rng.choice(relationships_of(self.district.contact(contact) or {}))
        # A relationship that changes the privilege itself: a cosmetic rewrite (``parent``
        # to ``Parent``, or a relationship the type already names) would change nothing.
        held = privilege_of(entry.get("relationship"), entry.get("type"))
        relationship = next(
            text
            for text in ("Parent", "Guardian", "Sibling")
            if not equivalent(held, privilege_of(text, entry.get("type")))
        )
        return self.district.change_relationship(contact, entry["student"], relationship)

    def _held(self, contact: str) -> set[str]:
        return {
            entry["student"] for entry in relationships_of(self.district.contact(contact) or {})
        }


def _created(user: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "users.created",
        "created": user.get("created"),
        "data": {"object": user},
    }


def _raw(event: dict[str, Any], district_id: str) -> RawEvent:
    """The raw record the poller would publish for ``event`` (fetched now)."""
    record = event_record(
        event, district_id=district_id, api_version=API_VERSION, fetched_at=datetime.now(UTC)
    )
    return RawEvent(
        district_id=district_id,
        event_id=str(record.event_id),
        key=district_key(district_id),
        value=default_codec().encode(record),
    )


def pages(events: list[RawEvent], size: int) -> Iterator[list[RawEvent]]:
    """``events`` in pages of at most ``size`` records of one district, districts in turn.

    A poller per district publishes one page per transaction, its districts side by side.
    """
    by_district: dict[str, list[RawEvent]] = {}
    for event in events:
        by_district.setdefault(event.district_id, []).append(event)
    queues = [iter(_chunks(records, size)) for records in by_district.values()]
    while queues:
        for queue in list(queues):
            page = next(queue, None)
            if page is None:
                queues.remove(queue)
            else:
                yield page


def _chunks(records: list[RawEvent], size: int) -> Iterator[list[RawEvent]]:
    for first in range(0, len(records), size):
        yield records[first : first + size]
