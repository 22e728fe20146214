"""A contact's privileges per student, read from a v3 contact user or a v2.1 contact.

Only IDs and privileges are read: names, phone numbers and emails never leave the record. A
record is only refused (``MalformedRecordError``) when it has no usable ``id``; a bad
relationship entry is skipped and counted so the caller can log or dead-letter it, and a
messy value is normalised (``streams.core.normalise``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.records import ContactSnapshot, Privilege, StudentRelationship
from schemas.values import PhoneType
from streams.core.exceptions import MalformedRecordError
from streams.core.normalise import phone_type_of, preferred, privilege_of
from streams.core.pairs import FrozenPairs


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRecord:
    """What the privilege stage needs of one contact, and how much of it was unusable.

    ``sis_id`` and ``legacy_id`` are None when Clever sent none, null or blank text (the v3
    example of seeds/003 has ``"sis_id": ""``): a contact without an SIS ID is re-created under
    a new Clever ID on any change (seeds/000), and blank must count as "without".
    """

    contact_id: str
    district_id: str | None = None
    sis_id: str | None = None
    legacy_id: str | None = None
    phone_type: PhoneType = PhoneType.UNSPECIFIED
    phone_type_raw: str | None = None
    relationships: Mapping[str, Privilege] = field(default_factory=FrozenPairs)
    skipped_entries: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.relationships, FrozenPairs):
            # Frozen all the way down: a caller's dict must not change a record later.
            object.__setattr__(self, "relationships", FrozenPairs(self.relationships))

    def to_snapshot(
        self,
        *,
        district_id: str,
        updated_at: datetime,
        last_event_id: str | None = None,
        last_sync_id: str | None = None,
    ) -> ContactSnapshot:
        """The contacts table's record of this contact (the district comes from the key)."""
        return ContactSnapshot(
            district_id=district_id,
            contact_id=self.contact_id,
            sis_id=self.sis_id,
            legacy_id=self.legacy_id,
            phone_type=self.phone_type,
            phone_type_raw=self.phone_type_raw,
            relationships=tuple(
                StudentRelationship(student_id=student_id, privilege=privilege)
                for student_id, privilege in self.relationships.items()
            ),
            last_event_id=last_event_id,
            last_sync_id=last_sync_id,
            updated_at=updated_at,
        )


def contact_from_snapshot(snapshot: ContactSnapshot) -> ContactRecord:
    """The contact a table holds, back as a record (to diff against, or to match a reissue)."""
    return ContactRecord(
        contact_id=snapshot.contact_id,
        district_id=snapshot.district_id,
        sis_id=snapshot.sis_id,
        legacy_id=snapshot.legacy_id,
        phone_type=snapshot.phone_type,
        phone_type_raw=snapshot.phone_type_raw,
        relationships=_pairs(
            (entry.student_id, entry.privilege) for entry in snapshot.relationships
        ),
    )


def contact_from_v3_user(user: Mapping[str, Any]) -> ContactRecord | None:
    """The contact of a v3 user, or None if the user holds no contact role.

    Clever lists a role under ``roles`` only for a user who holds it (API_FACTS §3), so a
    ``contact`` key means a contact even when its value is null: one with no students, whose
    pairs are all revoked, rather than a contact whose pairs silently stay. Each
    ``student_relationships`` entry gives one pair. Skipped and counted: entries that are not
    objects or have no student ID (a non-blank string), and, counted once each, a field that
    is not a list and a role that is neither an object nor null. A student listed twice keeps
    the ``preferred`` of its entries.
    """
    held = _contact_role(user)
    if held is None:
        return None
    role, skipped = held
    contact_id = _required_id(user, "v3 contact user")
    entries = role.get("student_relationships")
    if not isinstance(entries, list):
        skipped += int(entries is not None)
        entries = []
    found: list[tuple[str, Privilege]] = []
    for entry in entries:
        # ``type() is dict`` first: JSON gives dicts, and the ABC check is slower.
        is_object = type(entry) is dict or isinstance(entry, Mapping)
        student_id = _text(entry.get("student")) if is_object else None
        if student_id is None:
            skipped += 1
            continue
        found.append((student_id, privilege_of(entry.get("relationship"), entry.get("type"))))
    phone_type, phone_type_raw = phone_type_of(role.get("phone_type"))
    return ContactRecord(
        contact_id=contact_id,
        district_id=_text(user.get("district")),
        sis_id=_text(role.get("sis_id")),
        legacy_id=_text(role.get("legacy_id")),
        phone_type=phone_type,
        phone_type_raw=phone_type_raw,
        relationships=_pairs(found),
        skipped_entries=skipped,
    )


def contact_from_v21(contact: Mapping[str, Any]) -> ContactRecord:
    """The contact of a v2.1 ``Contact`` (or a v1.2 ``StudentContact``).

    One ``relationship``/``type`` per record, so every listed student gets the same privilege.
    Students are the ``students`` array (v2.1) and the single ``student`` field (v1.2), both
    read when both are there. Skipped and counted: array items that are not a non-blank
    string, a ``students`` that is not a list, a ``student`` that is not a non-blank string.
    """
    contact_id = _required_id(contact, "v2.1 contact")
    privilege = privilege_of(contact.get("relationship"), contact.get("type"))
    students = contact.get("students")
    skipped = 0
    candidates: list[object] = []
    if isinstance(students, list):
        candidates.extend(students)
    elif students is not None:
        skipped += 1
    if "student" in contact and contact["student"] is not None:
        candidates.append(contact["student"])
    found: list[tuple[str, Privilege]] = []
    for candidate in candidates:
        student_id = _text(candidate)
        if student_id is None:
            skipped += 1
        else:
            found.append((student_id, privilege))
    phone_type, phone_type_raw = phone_type_of(contact.get("phone_type"))
    return ContactRecord(
        contact_id=contact_id,
        district_id=_text(contact.get("district")),
        sis_id=_text(contact.get("sis_id")),
        phone_type=phone_type,
        phone_type_raw=phone_type_raw,
        relationships=_pairs(found),
        skipped_entries=skipped,
    )


def student_id_of(user: Mapping[str, Any]) -> str | None:
    """The ID of a student record: a v3 user holding ``roles.student``, or a v2.1 student.

    A record with a ``roles`` key is read as a v3 user (None unless ``roles`` lists
    ``student``); one without is read as a v2.1 student, so pass only records of the students
    family there. A student with no usable ``id`` raises ``MalformedRecordError``.
    """
    if type(user) is not dict and not isinstance(user, Mapping):
        raise MalformedRecordError(f"a student record must be an object, not {type(user).__name__}")
    if "roles" in user:
        roles = user["roles"]
        if (type(roles) is not dict and not isinstance(roles, Mapping)) or "student" not in roles:
            return None
    return _required_id(user, "student")


def _contact_role(user: object) -> tuple[Mapping[str, Any], int] | None:
    """The contact role's fields and whether they were unreadable (1) or not (0)."""
    # ``type() is dict`` first, here and above: JSON gives dicts, and the ABC check is slower.
    if type(user) is not dict and not isinstance(user, Mapping):
        raise MalformedRecordError(f"a v3 user must be an object, not {type(user).__name__}")
    roles = user.get("roles")
    if (type(roles) is not dict and not isinstance(roles, Mapping)) or "contact" not in roles:
        return None
    role = roles["contact"]
    if type(role) is dict or isinstance(role, Mapping):
        return role, 0
    return {}, int(role is not None)


def _required_id(record: Mapping[str, Any], what: str) -> str:
    record_id = _text(record.get("id"))
    if record_id is None:
        raise MalformedRecordError(f"a {what} without a usable id (a non-blank string)")
    return record_id


def _text(value: object) -> str | None:
    """An ID-like field: a string with something in it, as sent; anything else is None."""
    return value if isinstance(value, str) and value.strip() else None


def _pairs(found: Iterable[tuple[str, Privilege]]) -> FrozenPairs:
    """One privilege per student, in the order of each student's first listing."""
    by_student: dict[str, Privilege] = {}
    for student_id, privilege in found:
        held = by_student.get(student_id)
        by_student[student_id] = privilege if held is None else preferred(held, privilege)
    return FrozenPairs(by_student)
