"""The records of the contract as Python types, one per ``.avsc`` record.

They mirror ``schemas/avro/*.avsc`` field by field; a test compares the two, so neither can
drift. Times are timezone-aware UTC datetimes (Avro ``timestamp-millis``: millisecond
precision on the wire).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from schemas.values import (
    CauseKind,
    ChangeKind,
    ContactType,
    CursorPhase,
    PhoneType,
    RawRecordKind,
    RecordSource,
    Relationship,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawCleverRecord:
    """A Clever event, snapshot record or sync control record on the raw stream."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.clever.RawCleverRecord"

    district_id: str
    api_version: str
    kind: RawRecordKind
    source: RecordSource
    sync_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    created_at: datetime | None = None
    fetched_at: datetime
    clever_json: str | None = None
    snapshot_records: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PollerCursor:
    """Where a district's poller stands."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.clever.PollerCursor"

    district_id: str
    api_version: str
    phase: CursorPhase
    last_event_id: str | None = None
    sync_id: str | None = None
    sync_role: str | None = None
    sync_resume_after: str | None = None
    sync_source: RecordSource | None = None
    sync_records: int | None = None
    resync_request_id: str | None = None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncRequest:
    """An operator's request to resync one district."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.ops.ResyncRequest"

    district_id: str
    request_id: str
    reason: str
    requested_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictHealth:
    """Whether a district's poller is failing, and since when."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.ops.DistrictHealth"

    district_id: str
    failing: bool
    failing_since: datetime | None = None
    failures: int = 0
    error_type: str | None = None
    error_message: str | None = None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictRegistration:
    """A district added at run time, its token encrypted (a tombstone removes it)."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.ops.DistrictRegistration"

    district_id: str
    api_version: str
    token_ciphertext: bytes = field(repr=False)
    added_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Privilege:
    """A contact's capacity for one student, normalised, with Clever's text."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.privileges.Privilege"

    relationship: Relationship
    relationship_raw: str | None = None
    contact_type: ContactType
    contact_type_raw: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """The Clever event or sync behind a privilege change."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.privileges.Cause"

    kind: CauseKind
    clever_event_id: str | None = None
    clever_event_type: str | None = None
    sync_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivilegeChange:
    """A grant, revoke or change for one (district, contact, student) pair."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.privileges.PrivilegeChange"

    change_id: str
    kind: ChangeKind
    district_id: str
    contact_id: str
    student_id: str
    before: Privilege | None = None
    after: Privilege | None = None
    cause: Cause
    reissued_from_contact_id: str | None = None
    occurred_at: datetime | None = None
    emitted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivilegeState:
    """The current privilege of one pair (a tombstone ends it)."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.privileges.PrivilegeState"

    district_id: str
    contact_id: str
    student_id: str
    privilege: Privilege
    granted_at: datetime
    last_change_id: str
    reissued_from_contact_id: str | None = None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StudentRelationship:
    """One student of a contact, and the contact's privilege for them."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.streams.StudentRelationship"

    student_id: str
    privilege: Privilege


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactSnapshot:
    """What the workers keep of a contact: IDs and relationships, no personal data."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.streams.ContactSnapshot"

    district_id: str
    contact_id: str
    sis_id: str | None = None
    legacy_id: str | None = None
    phone_type: PhoneType
    phone_type_raw: str | None = None
    relationships: tuple[StudentRelationship, ...] = field(default_factory=tuple)
    last_event_id: str | None = None
    last_sync_id: str | None = None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """What the pipeline could not process, whole, with the error and its origin."""

    AVRO_NAME: ClassVar[str] = "dev.cleverstream.ops.DeadLetter"

    stage: str
    error_type: str
    error_message: str
    district_id: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    source_timestamp: datetime | None = None
    source_url: str | None = None
    original_key: bytes | None = None
    original_value: bytes | None = None
    failed_at: datetime


#: The types a message on a topic holds (the rest are parts of them).
Message = (
    RawCleverRecord
    | PollerCursor
    | ResyncRequest
    | DistrictHealth
    | DistrictRegistration
    | PrivilegeChange
    | PrivilegeState
    | ContactSnapshot
    | DeadLetter
)
MESSAGE_TYPES: dict[str, type[Message]] = {
    message_type.AVRO_NAME: message_type
    for message_type in (
        RawCleverRecord,
        PollerCursor,
        ResyncRequest,
        DistrictHealth,
        DistrictRegistration,
        PrivilegeChange,
        PrivilegeState,
        ContactSnapshot,
        DeadLetter,
    )
}
#: Every record type, by the Avro full name of its schema.
RECORD_TYPES: dict[str, type] = {
    **MESSAGE_TYPES,
    **{part.AVRO_NAME: part for part in (Privilege, Cause, StudentRelationship)},
}
