"""What a Clever event (or sync record) means for privileges: a few small actions, or a skip.

Events of every record type arrive on the raw stream; only contacts and students matter here.
v3 puts both in ``users.*`` (the roles tell them apart); v2.1 has ``contacts.*`` and
``students.*``; v1.2's ``studentcontacts.*`` is read like ``contacts.*``. Everything else is a
``Skip`` decided from the type string alone, without reading the object, so it stays cheap;
its ``record_type`` and fixed ``reason`` are made for counting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from streams.core.contacts import (
    ContactRecord,
    contact_from_v3_user,
    contact_from_v21,
    student_id_of,
)
from streams.core.exceptions import MalformedRecordError


@dataclass(frozen=True, slots=True)
class UpsertContact:
    """A contact as it now is: diff its pairs against the ones held."""

    contact: ContactRecord


@dataclass(frozen=True, slots=True)
class DeleteContact:
    """A contact is gone: revoke all its pairs."""

    contact_id: str


@dataclass(frozen=True, slots=True)
class UpsertStudent:
    """A student exists (created, updated, or seen in a sync)."""

    student_id: str


@dataclass(frozen=True, slots=True)
class DeleteStudent:
    """A student is gone: revoke every pair that names them."""

    student_id: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing to do; ``record_type`` (the event type's family) and ``reason`` to count it by."""

    record_type: str
    reason: str


Action = UpsertContact | DeleteContact | UpsertStudent | DeleteStudent | Skip

NOT_TEXT: Final = "event type is not text"
OTHER_RECORD_TYPE: Final = "not a contact or student record"
UNKNOWN_ACTION: Final = "not created, updated or deleted"
NO_ROLE: Final = "user holds no contact or student role"

_VERBS: Final = frozenset({"created", "updated", "deleted"})
_CONTACT_FAMILIES: Final = frozenset({"contacts", "studentcontacts"})


def classify(event_type: object, obj: object) -> tuple[Action, ...]:
    """The actions of one event, given its ``type`` and its ``data.object``.

    Never empty: a lone ``Skip`` when nothing is to be done. Usually one action; a v3 user
    holding both the contact and the student role gives one of each. Type strings are read
    case- and whitespace-tolerantly. A contact or student object that is not an object or
    has no usable ``id`` raises ``MalformedRecordError`` (the caller dead-letters the event).
    """
    read = _read_type(event_type)
    if isinstance(read, Skip):
        return (read,)
    family, verb = read
    record = _object(obj, family)
    deleted = verb == "deleted"
    if family == "users":
        return _deleted_user(record) if deleted else _user(record)
    if family in _CONTACT_FAMILIES:
        contact = contact_from_v21(record)
        return (DeleteContact(contact.contact_id) if deleted else UpsertContact(contact),)
    student_id = student_id_of(record)
    if student_id is None:
        return (Skip(family, NO_ROLE),)
    return (DeleteStudent(student_id) if deleted else UpsertStudent(student_id),)


def skip_of_type(event_type: object) -> Skip | None:
    """The ``Skip`` that ``classify`` gives an event of ``event_type`` whatever its object,
    or None for a contact or student event, whose object must be read (and parsed) first."""
    read = _read_type(event_type)
    return read if isinstance(read, Skip) else None


def _read_type(event_type: object) -> Skip | tuple[str, str]:
    """The family and verb of an event type that ``classify`` acts on, or its ``Skip``."""
    if not isinstance(event_type, str):
        return Skip("", NOT_TEXT)
    family, _, verb = event_type.strip().casefold().partition(".")
    if family not in _CONTACT_FAMILIES and family not in {"users", "students"}:
        return Skip(family, OTHER_RECORD_TYPE)
    if verb not in _VERBS:
        return Skip(family, UNKNOWN_ACTION)
    return family, verb


def classify_snapshot(record_type: object, obj: object) -> tuple[Action, ...]:
    """The actions of one record of a sync's snapshot (``users``, ``contacts``, ``students``):
    read as an update, since a snapshot says what exists now."""
    if not isinstance(record_type, str):
        return (Skip("", NOT_TEXT),)
    return classify(f"{record_type.strip()}.updated", obj)


def _user(user: Mapping[str, Any]) -> tuple[Action, ...]:
    actions: list[Action] = []
    contact = contact_from_v3_user(user)
    if contact is not None:
        actions.append(UpsertContact(contact))
    # Without "roles", student_id_of would read the user as a v2.1 student.
    student_id = student_id_of(user) if "roles" in user else None
    if student_id is not None:
        actions.append(UpsertStudent(student_id))
    return tuple(actions) or (Skip("users", NO_ROLE),)


def _deleted_user(user: Mapping[str, Any]) -> tuple[Action, ...]:
    """A deleted user's roles, read generously: a revoke must never wait.

    A deleted object with no readable ``roles`` at all may have been either, so it deletes
    both ways; an ID that was never a contact or student revokes nothing downstream.
    """
    contact = contact_from_v3_user(user)
    student_id = student_id_of(user) if "roles" in user else None
    roles = user.get("roles")
    if not isinstance(roles, Mapping):
        user_id = _user_id(user)
        return (DeleteContact(user_id), DeleteStudent(user_id))
    actions: list[Action] = []
    if contact is not None:
        actions.append(DeleteContact(contact.contact_id))
    if student_id is not None:
        actions.append(DeleteStudent(student_id))
    return tuple(actions) or (Skip("users", NO_ROLE),)


def _user_id(user: Mapping[str, Any]) -> str:
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise MalformedRecordError("a deleted user without a usable id (a non-blank string)")
    return user_id


def _object(obj: object, family: str) -> Mapping[str, Any]:
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise MalformedRecordError(
            f"a {family} event's object must be an object, not {type(obj).__name__}"
        )
    return obj
