"""Hypothesis strategies for the contract's records, within what Avro can carry."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from schemas.records import (
    Cause,
    ContactSnapshot,
    DeadLetter,
    DistrictHealth,
    DistrictRegistration,
    Message,
    PollerCursor,
    Privilege,
    PrivilegeChange,
    PrivilegeState,
    RawCleverRecord,
    ResyncRequest,
    StudentRelationship,
)
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

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Avro strings are UTF-8: no lone surrogates.
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)
clever_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=24)
optional_texts = st.none() | texts
# timestamp-millis: UTC, whole milliseconds.
times = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - bounds are naive; timezones= makes aware
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))

privileges = st.builds(
    Privilege,
    relationship=st.sampled_from(Relationship),
    relationship_raw=optional_texts,
    contact_type=st.sampled_from(ContactType),
    contact_type_raw=optional_texts,
)
causes = st.builds(
    Cause,
    kind=st.sampled_from(CauseKind),
    clever_event_id=st.none() | clever_ids,
    clever_event_type=optional_texts,
    sync_id=st.none() | clever_ids,
)

MESSAGES: dict[type[Message], st.SearchStrategy[Message]] = {
    RawCleverRecord: st.builds(
        RawCleverRecord,
        district_id=clever_ids,
        api_version=texts,
        kind=st.sampled_from(RawRecordKind),
        source=st.sampled_from(RecordSource),
        sync_id=st.none() | clever_ids,
        event_id=st.none() | clever_ids,
        event_type=optional_texts,
        record_type=optional_texts,
        record_id=st.none() | clever_ids,
        created_at=st.none() | times,
        fetched_at=times,
        clever_json=optional_texts,
        snapshot_records=st.none() | INT64,
    ),
    PollerCursor: st.builds(
        PollerCursor,
        district_id=clever_ids,
        api_version=texts,
        phase=st.sampled_from(CursorPhase),
        last_event_id=st.none() | clever_ids,
        sync_id=st.none() | clever_ids,
        sync_role=optional_texts,
        sync_resume_after=st.none() | clever_ids,
        resync_request_id=st.none() | texts,
        updated_at=times,
    ),
    ResyncRequest: st.builds(
        ResyncRequest,
        district_id=clever_ids,
        request_id=texts,
        reason=texts,
        requested_at=times,
    ),
    DistrictHealth: st.builds(
        DistrictHealth,
        district_id=clever_ids,
        failing=st.booleans(),
        failing_since=st.none() | times,
        failures=INT64,
        error_type=optional_texts,
        error_message=optional_texts,
        updated_at=times,
    ),
    DistrictRegistration: st.builds(
        DistrictRegistration,
        district_id=clever_ids,
        api_version=texts,
        token_ciphertext=st.binary(max_size=200),
        added_at=times,
    ),
    PrivilegeChange: st.builds(
        PrivilegeChange,
        change_id=texts,
        kind=st.sampled_from(ChangeKind),
        district_id=clever_ids,
        contact_id=clever_ids,
        student_id=clever_ids,
        before=st.none() | privileges,
        after=st.none() | privileges,
        cause=causes,
        reissued_from_contact_id=st.none() | clever_ids,
        occurred_at=st.none() | times,
        emitted_at=times,
    ),
    PrivilegeState: st.builds(
        PrivilegeState,
        district_id=clever_ids,
        contact_id=clever_ids,
        student_id=clever_ids,
        privilege=privileges,
        granted_at=times,
        last_change_id=texts,
        reissued_from_contact_id=st.none() | clever_ids,
        updated_at=times,
    ),
    ContactSnapshot: st.builds(
        ContactSnapshot,
        district_id=clever_ids,
        contact_id=clever_ids,
        sis_id=optional_texts,
        legacy_id=st.none() | clever_ids,
        phone_type=st.sampled_from(PhoneType),
        phone_type_raw=optional_texts,
        relationships=st.lists(
            st.builds(StudentRelationship, student_id=clever_ids, privilege=privileges),
            max_size=8,
        ).map(tuple),
        last_event_id=st.none() | clever_ids,
        last_sync_id=st.none() | clever_ids,
        updated_at=times,
    ),
    DeadLetter: st.builds(
        DeadLetter,
        stage=texts,
        error_type=texts,
        error_message=texts,
        district_id=st.none() | clever_ids,
        source_topic=optional_texts,
        source_partition=st.none() | INT32,
        source_offset=st.none() | INT64,
        source_timestamp=st.none() | times,
        source_url=optional_texts,
        original_key=st.none() | st.binary(max_size=200),
        original_value=st.none() | st.binary(max_size=2000),
        failed_at=times,
    ),
}
messages: st.SearchStrategy[Message] = st.one_of(*MESSAGES.values())
