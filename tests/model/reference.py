"""The privilege rules of docs/topics.md, restated naively: recompute everything, then diff.

Written from the documented rules and Clever's JSON shapes only, never from the workers'
code, so that a differential test catches the workers misreading the rules. It is slow on
purpose: after every delivery it rebuilds the whole set of live pairs from the current
contacts and students and compares it with the set before.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

GRANTED, REVOKED, CHANGED = "GRANTED", "REVOKED", "CHANGED"
CLEVER_EVENT, SYNC_SNAPSHOT, SYNC_RECONCILIATION = (
    "CLEVER_EVENT",
    "SYNC_SNAPSHOT",
    "SYNC_RECONCILIATION",
)
UNSPECIFIED, UNRECOGNIZED = "UNSPECIFIED", "UNRECOGNIZED"

_RELATIONSHIPS = {
    "parent": "PARENT",
    "grandparent": "GRANDPARENT",
    "self": "SELF",
    "aunt/uncle": "AUNT_UNCLE",
    "sibling": "SIBLING",
    "other": "OTHER",
}
_CONTACT_TYPES = {
    "parent/guardian": "PARENT_GUARDIAN",
    "emergency": "EMERGENCY",
    "primary": "PRIMARY",
    "secondary": "SECONDARY",
    "family": "FAMILY",
    "other": "OTHER",
    "guardian": "PARENT_GUARDIAN",
    "legal guardian": "PARENT_GUARDIAN",
    "emergency contact": "EMERGENCY",
}
# The doc's "relationship word" in `type`: every relationship but `other`, which is a type.
_RELATIONSHIP_WORDS_IN_TYPE = {word for word in _RELATIONSHIPS if word != "other"}
_KIND_ORDER = {REVOKED: 0, CHANGED: 1, GRANTED: 2}


class _Missing:
    """The type of ``MISSING``."""

    def __repr__(self) -> str:
        return "MISSING"


#: Stands for a key the record left out entirely (absent, not null).
MISSING = _Missing()

Pair = tuple[str, str]
Cause = tuple[str, str | None]
#: A contact's listing: student ID -> (relationship, type) as Clever sent them (or MISSING).
Listing = dict[str, tuple[object, object]]


@dataclass(frozen=True)
class Privilege:
    """What a live pair carries: two symbols and Clever's two texts as sent."""

    relationship: str
    relationship_raw: str | None
    contact_type: str
    contact_type_raw: str | None


@dataclass(frozen=True)
class Change:
    """One GRANTED / REVOKED / CHANGED of a (contact, student) pair, with the record behind it."""

    kind: str
    contact_id: str
    student_id: str
    before: Privilege | None
    after: Privilege | None
    cause: Cause


def raw_text(value: object) -> str | None:
    """Clever's text kept as sent: a string unchanged, null or missing as None, else JSON."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _words(text: str) -> str:
    """The text as the table matches it: case, `_`, whitespace runs, spaces round `/` ignored."""
    text = " ".join(text.casefold().replace("_", " ").split())
    return text.replace(" /", "/").replace("/ ", "/")


def privilege_from(relationship: object, contact_type: object) -> Privilege:
    """The privilege one relationship entry gives, per the doc's table (MISSING for no key).

    Remembered per pair of texts: the model recomputes every pair at every event, and a long
    history (the chaos run's) would spend most of its time here.
    """
    try:
        return _remembered_privilege(relationship, contact_type)
    except TypeError:  # a list or an object where the SIS put text: not hashable
        return _privilege_from(relationship, contact_type)


@functools.lru_cache(maxsize=4096, typed=True)  # typed: True and 1 are different texts
def _remembered_privilege(relationship: object, contact_type: object) -> Privilege:
    return _privilege_from(relationship, contact_type)


def _privilege_from(relationship: object, contact_type: object) -> Privilege:
    relationship_symbol = _symbol(relationship, _RELATIONSHIPS)
    type_symbol = _symbol(contact_type, _CONTACT_TYPES)
    if isinstance(contact_type, str) and _words(contact_type) in _RELATIONSHIP_WORDS_IN_TYPE:
        type_symbol = UNSPECIFIED
        if relationship_symbol == UNSPECIFIED:
            relationship_symbol = _RELATIONSHIPS[_words(contact_type)]
    return Privilege(
        relationship=relationship_symbol,
        relationship_raw=raw_text(relationship),
        contact_type=type_symbol,
        contact_type_raw=raw_text(contact_type),
    )


def _symbol(value: object, table: dict[str, str]) -> str:
    if value is None or value is MISSING:
        return UNSPECIFIED
    if not isinstance(value, str):
        return UNRECOGNIZED
    words = _words(value)
    if not words:
        return UNSPECIFIED
    return table.get(words, UNRECOGNIZED)


def differs(before: Privilege, after: Privilege) -> bool:
    """Whether the normalised privileges differ (CHANGED) rather than only the raw texts."""
    if (before.relationship, before.contact_type) != (after.relationship, after.contact_type):
        return True
    vague = (UNSPECIFIED, UNRECOGNIZED)
    return (
        before.relationship in vague
        and _loose(before.relationship_raw) != _loose(after.relationship_raw)
    ) or (
        before.contact_type in vague
        and _loose(before.contact_type_raw) != _loose(after.contact_type_raw)
    )


def _loose(raw: str | None) -> str:
    """Raw text up to case, surrounding whitespace, and null versus "" versus missing."""
    return (raw or "").strip().casefold()


@dataclass
class _Effects:
    """What one record does: contacts to (re)list or delete (None), students to keep or drop."""

    contacts: dict[str, Listing | None] = field(default_factory=dict)
    students: dict[str, bool] = field(default_factory=dict)


def _non_blank(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _v3_listing(contact_role: object) -> Listing:
    """A v3 ``roles.contact``'s listing from its ``student_relationships``."""
    entries = contact_role.get("student_relationships") if isinstance(contact_role, dict) else None
    listing: Listing = {}
    for entry in entries if isinstance(entries, list) else []:
        student_id = _non_blank(entry.get("student")) if isinstance(entry, dict) else None
        if student_id is None:
            continue
        if student_id in listing:
            raise ValueError(
                f"contact lists student {student_id!r} twice: the preference between "
                "duplicate entries is outside the model"
            )
        listing[student_id] = (
            entry.get("relationship", MISSING),
            entry.get("type", MISSING),
        )
    return listing


def _v21_listing(contact: dict[str, object]) -> Listing:
    """A v2.1 contact's listing: every student gets the record's one relationship and type."""
    students = contact.get("students")
    entry = (contact.get("relationship", MISSING), contact.get("type", MISSING))
    ids = [_non_blank(s) for s in students] if isinstance(students, list) else []
    # A repeated ID repeats the very same entry, so keeping one is exact.
    return {student_id: entry for student_id in ids if student_id is not None}


def _effects(record_type: str, action: str, obj: object) -> _Effects:
    """What a record of ``record_type`` (``users``, ``contacts``…) does under ``action``."""
    effects = _Effects()
    object_id = _non_blank(obj.get("id")) if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or object_id is None:
        return effects
    deleted = action == "deleted"
    if record_type == "users":
        roles = obj.get("roles")
        if not isinstance(roles, dict):
            if deleted:  # no readable roles: it may have been either, so both go
                effects.contacts[object_id] = None
                effects.students[object_id] = False
            return effects
        if "contact" in roles:
            effects.contacts[object_id] = None if deleted else _v3_listing(roles["contact"])
        if "student" in roles:
            effects.students[object_id] = not deleted
    elif record_type in ("contacts", "studentcontacts"):
        effects.contacts[object_id] = None if deleted else _v21_listing(obj)
    elif record_type == "students":
        effects.students[object_id] = not deleted
    return effects


def _event_type(value: object) -> tuple[str, str]:
    """``("users", "updated")`` from ``" Users.Updated "``; ``("", "")`` if not such a type."""
    if not isinstance(value, str):
        return "", ""
    record_type, _, action = value.strip().casefold().rpartition(".")
    if action not in ("created", "updated", "deleted"):
        return "", ""
    return record_type, action


def _later(event_id: str, other: str) -> bool:
    """Whether ``event_id`` comes after ``other`` in Clever's feed, which ascends by ID
    (24 hex digits: as text; a shorter ID first, as a number)."""
    return (len(event_id), event_id) > (len(other), other)


@dataclass
class _OpenSync:
    sync_id: str
    contacts: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)


class ReferenceModel:
    """One district's privileges, fed its raw records in order; each call returns the changes."""

    def __init__(self) -> None:
        self._contacts: dict[str, Listing] = {}
        self._students: set[str] = set()
        self._applied_event_ids: set[str] = set()  # naive: never forgets (no 31-day window)
        #: The newest sync bookmark: events up to it are in the state through a snapshot.
        self._bookmark: str | None = None
        self._sync: _OpenSync | None = None
        self._live: dict[Pair, Privilege] = {}

    @property
    def live(self) -> dict[Pair, Privilege]:
        """(contact, student) -> current privilege with the latest raw texts (the state topic)."""
        return dict(self._live)

    def sync_started(self, sync_id: str, bookmark: str | None = None) -> list[Change]:
        """Open ``sync_id``, abandoning any open sync; this can grant or revoke nothing.

        ``bookmark`` is the newest event when the sync started: its snapshot stands for
        every event up to it.
        """
        if bookmark is not None and (self._bookmark is None or _later(bookmark, self._bookmark)):
            self._bookmark = bookmark
        self._sync = _OpenSync(sync_id)
        changes = self._recompute((SYNC_RECONCILIATION, sync_id))
        if changes:
            raise AssertionError(f"model bug: SYNC_STARTED changed {changes}")
        return changes

    def snapshot(self, sync_id: str, record_type: str, obj: object) -> list[Change]:
        """Apply a sync's snapshot record like an ``updated`` event of its object."""
        effects = _effects(record_type.strip().casefold(), "updated", obj)
        self._apply(effects)
        # Only the open sync's snapshot counts as seen.
        if self._sync is not None and self._sync.sync_id == sync_id:
            self._sync.contacts |= effects.contacts.keys()
            self._sync.students |= effects.students.keys()
        return self._recompute((SYNC_SNAPSHOT, sync_id))

    def sync_completed(self, sync_id: str) -> list[Change]:
        """End the open sync: what its snapshot did not show is gone. Another sync's: nothing."""
        sync = self._sync
        if sync is None or sync.sync_id != sync_id:
            return []
        self._contacts = {c: listing for c, listing in self._contacts.items() if c in sync.contacts}
        self._students &= sync.students
        self._sync = None
        return self._recompute((SYNC_RECONCILIATION, sync_id))

    def event(self, event: object) -> list[Change]:
        """Apply one Clever event (the whole event JSON), once per event ID."""
        if not isinstance(event, dict):
            return []
        event_id = _non_blank(event.get("id"))
        record_type, action = _event_type(event.get("type"))
        data = event.get("data")
        effects = _effects(
            record_type, action, data.get("object") if isinstance(data, dict) else None
        )
        if not effects.contacts and not effects.students:
            return []  # not a contact or student event: changes nothing, ID not remembered
        if event_id is not None:
            if event_id in self._applied_event_ids:
                return []
            if self._bookmark is not None and not _later(event_id, self._bookmark):
                return []  # at or before a sync's bookmark: its snapshot holds it
            self._applied_event_ids.add(event_id)
        self._apply(effects)
        return self._recompute((CLEVER_EVENT, event_id))

    def _apply(self, effects: _Effects) -> None:
        for contact_id, listing in effects.contacts.items():
            if listing is None:
                self._contacts.pop(contact_id, None)
            else:
                self._contacts[contact_id] = listing
        for student_id, exists in effects.students.items():
            if exists:
                self._students.add(student_id)
            else:
                self._students.discard(student_id)

    def _may_become_live(self, pair: Pair) -> bool:
        """The sync rule: while a sync is open, a new pair needs both ends seen in its snapshot."""
        if self._sync is None or pair in self._live:
            return True
        contact_id, student_id = pair
        return contact_id in self._sync.contacts and student_id in self._sync.students

    def _recompute(self, cause: Cause) -> list[Change]:
        """Rebuild the live pairs from scratch, diff them with the previous ones, keep them."""
        now: dict[Pair, Privilege] = {}
        for contact_id, listing in self._contacts.items():
            for student_id, (relationship, contact_type) in listing.items():
                pair = (contact_id, student_id)
                if student_id in self._students and self._may_become_live(pair):
                    now[pair] = privilege_from(relationship, contact_type)
        before = self._live
        changes = [
            Change(REVOKED, *pair, before[pair], None, cause) for pair in before.keys() - now.keys()
        ]
        changes += [
            Change(GRANTED, *pair, None, now[pair], cause) for pair in now.keys() - before.keys()
        ]
        changes += [
            Change(CHANGED, *pair, before[pair], now[pair], cause)
            for pair in now.keys() & before.keys()
            if differs(before[pair], now[pair])
        ]
        self._live = now
        # The doc's order within a contact: revokes, then changes, then grants, by student.
        return sorted(changes, key=lambda c: (c.contact_id, _KIND_ORDER[c.kind], c.student_id))
