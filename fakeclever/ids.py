"""Clever-shaped IDs that encode where a record comes from, so paging never scans a district.

Every ID is 24 lowercase hex characters, like Clever's ObjectIDs:
``<district tag: 8><space: 2><counter: 14>``. Within a district the spaces sort in creation
order (schools, base students, base contacts, contacts created later, students created
later), so ascending IDs are creation order within each kind, and an ID alone tells the
server which generated record (or overlay entry) it names and where a page after it starts:
``starting_after`` is O(page), not O(district).
Event IDs live in their own spaces, distinct from record IDs.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import IntEnum
from typing import NamedTuple

ID_LENGTH = 24
_TAG_DIGITS = 8
_COUNTER_DIGITS = 14
MAX_COUNTER = 16**_COUNTER_DIGITS - 1


class Space(IntEnum):
    """What kind of record an ID names; the values order IDs within a district."""

    DISTRICT = 0x01
    SCHOOL = 0x05
    STUDENT = 0x10
    CONTACT = 0x20
    CREATED = 0x30  # v3 users created after the base population (contacts, new IDs)
    CREATED_STUDENT = 0x38  # students created after the base population (or IDs kept for them)
    V2_CONTACT = 0x40  # v2.1 contact records of base pairs: counter = contact * 4 + pair
    V2_CREATED = 0x50  # v2.1 contact records created later
    EVENT_V3 = 0xE0
    EVENT_V2 = 0xE1


#: A base contact has at most this many v2.1 records (one per related student).
V2_SLOTS = 4


class ParsedId(NamedTuple):
    """The parts of an ID this fake minted."""

    tag: str
    space: int
    counter: int


def district_tag(district_id: str) -> str:
    """The 8 hex digits that prefix every ID of one district."""
    return hashlib.sha256(district_id.encode()).hexdigest()[:_TAG_DIGITS]


def make_id(tag: str, space: Space, counter: int) -> str:
    """The ID of ``counter`` in ``space`` of the district tagged ``tag``."""
    if not 0 <= counter <= MAX_COUNTER:
        raise ValueError(f"ID counter out of range: {counter}")
    return f"{tag}{space:02x}{counter:014x}"


def parse_id(value: str) -> ParsedId | None:
    """The parts of an ID, or None when it is not a well-formed 24-hex ID."""
    if len(value) != ID_LENGTH:
        return None
    try:
        space = int(value[_TAG_DIGITS : _TAG_DIGITS + 2], 16)
        counter = int(value[_TAG_DIGITS + 2 :], 16)
    except ValueError:
        return None
    if value != value.lower():
        return None
    return ParsedId(value[:_TAG_DIGITS], space, counter)


def derived_hex(*parts: object, length: int = ID_LENGTH) -> str:
    """Deterministic hex from ``parts`` (district IDs and tokens derived from a seed)."""
    text = ":".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def clever_time(moment: datetime) -> str:
    """Clever's timestamp format: UTC ISO-8601 with milliseconds and ``Z``."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"
