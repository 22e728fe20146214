"""The enumerations of the contract, with Clever's value sets and room for values to come.

Every enum ends in UNRECOGNIZED, the Avro default: a consumer with an older schema reads a
symbol added later as UNRECOGNIZED instead of failing. Clever's own text travels beside each
Clever value set in a ``*_raw`` field, so nothing the district sent is lost.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class _CleverValueSet(StrEnum):
    """An enum of Clever text values: parsed case-insensitively, never raising."""

    @classmethod
    def _clever_texts(cls) -> dict[str, str]:
        raise NotImplementedError

    @classmethod
    def from_clever(cls, raw: str | None) -> Self:
        """The symbol for Clever's text: UNSPECIFIED if empty, UNRECOGNIZED if unknown."""
        if raw is None or not raw.strip():
            return cls["UNSPECIFIED"]
        by_text = _MEMBERS_BY_TEXT.get(cls)
        if by_text is None:
            by_text = {text: cls(symbol) for text, symbol in cls._clever_texts().items()}
            _MEMBERS_BY_TEXT[cls] = by_text
        member = by_text.get(" ".join(raw.split()).casefold())
        return cls["UNRECOGNIZED"] if member is None else member


#: Each value set's members by Clever's text, built on first use: ``from_clever`` runs for
#: every relationship entry read, and ``_clever_texts`` builds its dict afresh on each call.
_MEMBERS_BY_TEXT: dict[type[_CleverValueSet], dict[str, Any]] = {}


class Relationship(_CleverValueSet):
    """Clever's ``relationship`` of a contact to a student."""

    PARENT = "PARENT"
    GRANDPARENT = "GRANDPARENT"
    SELF = "SELF"
    AUNT_UNCLE = "AUNT_UNCLE"
    SIBLING = "SIBLING"
    OTHER = "OTHER"
    UNSPECIFIED = "UNSPECIFIED"
    UNRECOGNIZED = "UNRECOGNIZED"

    @classmethod
    def _clever_texts(cls) -> dict[str, str]:
        return {
            "parent": "PARENT",
            "grandparent": "GRANDPARENT",
            "self": "SELF",
            "aunt/uncle": "AUNT_UNCLE",
            "sibling": "SIBLING",
            "other": "OTHER",
        }


class ContactType(_CleverValueSet):
    """Clever's ``type``: the capacity of a contact for a student."""

    PARENT_GUARDIAN = "PARENT_GUARDIAN"
    EMERGENCY = "EMERGENCY"
    PRIMARY = "PRIMARY"
    SECONDARY = "SECONDARY"
    FAMILY = "FAMILY"
    OTHER = "OTHER"
    UNSPECIFIED = "UNSPECIFIED"
    UNRECOGNIZED = "UNRECOGNIZED"

    @classmethod
    def _clever_texts(cls) -> dict[str, str]:
        return {
            "parent/guardian": "PARENT_GUARDIAN",
            "emergency": "EMERGENCY",
            "primary": "PRIMARY",
            "secondary": "SECONDARY",
            "family": "FAMILY",
            "other": "OTHER",
        }


class PhoneType(_CleverValueSet):
    """Clever's ``phone_type``."""

    CELL = "CELL"
    HOME = "HOME"
    WORK = "WORK"
    OTHER = "OTHER"
    UNSPECIFIED = "UNSPECIFIED"
    UNRECOGNIZED = "UNRECOGNIZED"

    @classmethod
    def _clever_texts(cls) -> dict[str, str]:
        return {"cell": "CELL", "home": "HOME", "work": "WORK", "other": "OTHER"}


class RawRecordKind(StrEnum):
    """An event, a snapshot record, or a sync's opening or closing control record."""

    EVENT = "EVENT"
    SNAPSHOT = "SNAPSHOT"
    SYNC_STARTED = "SYNC_STARTED"
    SYNC_COMPLETED = "SYNC_COMPLETED"
    UNRECOGNIZED = "UNRECOGNIZED"


class RecordSource(StrEnum):
    """The Events API, the initial sync, or a resync."""

    EVENTS = "EVENTS"
    SYNC = "SYNC"
    RESYNC = "RESYNC"
    UNRECOGNIZED = "UNRECOGNIZED"


class CursorPhase(StrEnum):
    """Publishing a sync's snapshot, or polling events."""

    SYNCING = "SYNCING"
    POLLING = "POLLING"
    UNRECOGNIZED = "UNRECOGNIZED"


class CauseKind(StrEnum):
    """A Clever event, a sync's snapshot, or the reconciliation at a sync's end."""

    CLEVER_EVENT = "CLEVER_EVENT"
    SYNC_SNAPSHOT = "SYNC_SNAPSHOT"
    SYNC_RECONCILIATION = "SYNC_RECONCILIATION"
    UNRECOGNIZED = "UNRECOGNIZED"


class ChangeKind(StrEnum):
    """Granted, revoked, or changed."""

    GRANTED = "GRANTED"
    REVOKED = "REVOKED"
    CHANGED = "CHANGED"
    UNRECOGNIZED = "UNRECOGNIZED"


#: Every enum of the contract, by the Avro full name of its schema.
ENUM_TYPES: dict[str, type[StrEnum]] = {
    "dev.cleverstream.clever.Relationship": Relationship,
    "dev.cleverstream.clever.ContactType": ContactType,
    "dev.cleverstream.clever.PhoneType": PhoneType,
    "dev.cleverstream.clever.RawRecordKind": RawRecordKind,
    "dev.cleverstream.clever.RecordSource": RecordSource,
    "dev.cleverstream.clever.CursorPhase": CursorPhase,
    "dev.cleverstream.privileges.CauseKind": CauseKind,
    "dev.cleverstream.privileges.ChangeKind": ChangeKind,
}
