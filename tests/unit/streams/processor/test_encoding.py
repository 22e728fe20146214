"""The processor's table values: Avro of the internal schemas, which match the Python types;
written as fastavro writes them, read back whole; JSON values of earlier versions still read."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from typing import Any

import avro.schema
import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.json_values import json_grants, json_progress, json_student
from schemas.datum import to_writer_datum
from schemas.exceptions import DecodeError, EncodeError
from schemas.internal_schemas import (
    CONTACT_GRANTS,
    DISTRICT_PROGRESS,
    PAIR_GRANT,
    SKIP_COUNT,
    STUDENT_ENTRY,
    internal_schema,
    load_internal_schemas,
)
from schemas.records import ContactSnapshot, StudentRelationship
from schemas.values import PhoneType
from streams.processor.encoding import (
    decode_grants,
    decode_progress,
    decode_student,
    encode_grants,
    encode_progress,
    encode_student,
)
from streams.processor.store import ContactGrants, DistrictProgress, PairGrant, StudentEntry
from tests.strategies import INT64, clever_ids, optional_texts, privileges, texts, times

snapshots = st.builds(
    ContactSnapshot,
    district_id=clever_ids,
    contact_id=clever_ids,
    sis_id=optional_texts,
    legacy_id=st.none() | clever_ids,
    phone_type=st.sampled_from(PhoneType),
    phone_type_raw=optional_texts,
    relationships=st.lists(
        st.builds(StudentRelationship, student_id=clever_ids, privilege=privileges), max_size=3
    ).map(tuple),
    last_event_id=st.none() | clever_ids,
    last_sync_id=st.none() | clever_ids,
    updated_at=times,
)
progresses = st.builds(
    DistrictProgress,
    district_id=texts,
    last_partition=st.none() | INT64,
    last_offset=st.none() | INT64,
    record_count=INT64,
    event_day=st.none() | INT64,
    synced_through=optional_texts,
    synced_api_version=optional_texts,
    sync_id=optional_texts,
    recently_deleted=st.lists(snapshots, max_size=3).map(
        lambda items: tuple((item.contact_id, item) for item in items)
    ),
    skipped=st.lists(st.tuples(texts, INT64), max_size=70).map(tuple),
)
students = st.builds(
    StudentEntry,
    district_id=clever_ids,
    student_id=clever_ids,
    exists=st.booleans(),
    last_sync_id=optional_texts,
    listed_by=st.frozensets(texts, max_size=70),
)
contact_grants = st.builds(
    ContactGrants,
    district_id=texts,
    contact_id=texts,
    grants=st.lists(
        st.builds(
            PairGrant,
            student_id=texts,
            granted_at=times,
            reissued_from_contact_id=optional_texts,
            last_change_id=texts,
        ),
        max_size=3,
    ).map(tuple),
)

#: Each internal record schema's Python type, and the fields of it that are the table's key.
PYTHON_TYPES: dict[str, tuple[type, frozenset[str]]] = {
    STUDENT_ENTRY: (StudentEntry, frozenset({"district_id", "student_id"})),
    CONTACT_GRANTS: (ContactGrants, frozenset()),
    PAIR_GRANT: (PairGrant, frozenset()),
    DISTRICT_PROGRESS: (DistrictProgress, frozenset()),
}


@pytest.mark.parametrize("full_name", sorted(PYTHON_TYPES))
def test_internal_schemas_have_the_python_types_fields_in_order(full_name: str) -> None:
    python_type, key_fields = PYTHON_TYPES[full_name]
    schema = internal_schema(full_name).schema
    python_fields = [
        field for field in dataclasses.fields(python_type) if field.name not in key_fields
    ]
    assert [field.name for field in schema.fields] == [field.name for field in python_fields]
    for avro_field, python_field in zip(schema.fields, python_fields, strict=True):
        has_default = (
            python_field.default is not dataclasses.MISSING
            or python_field.default_factory is not dataclasses.MISSING
        )
        assert avro_field.has_default == has_default, f"{full_name}.{avro_field.name}"


def test_every_internal_field_and_type_is_documented() -> None:
    for full_name, schema in load_internal_schemas().schemas.items():
        assert full_name.startswith("dev.cleverstream.tables."), full_name
        assert schema.get_prop("doc"), full_name
        assert isinstance(schema, avro.schema.RecordSchema)
        for field in schema.fields:
            assert field.doc, f"{full_name}.{field.name}"


#: The fingerprints the tables' values carry. A changed schema (or contract type it holds)
#: changes its fingerprint: the tables of a worker upgraded over an existing changelog hold
#: values of the old one, so decoding must keep reading those before this pin may move.
FINGERPRINTS = {
    STUDENT_ENTRY: "d0dba5e00256088c",
    CONTACT_GRANTS: "bc952f3b2f845060",
    DISTRICT_PROGRESS: "8501ee5944a75663",
}


@pytest.mark.parametrize("full_name", sorted(FINGERPRINTS))
def test_the_fingerprints_are_the_ones_written_so_far(full_name: str) -> None:
    header = internal_schema(full_name).header
    assert header[:2] == b"\xc3\x01"
    assert header[2:].hex() == FINGERPRINTS[full_name]


def fastavro_message(full_name: str, datum: dict[str, Any]) -> bytes:
    schema = internal_schema(full_name)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema.parsed, datum)
    return schema.header + buffer.getvalue()


@given(progress=progresses)
def test_district_progress_is_fastavros_message_and_reads_back(progress: DistrictProgress) -> None:
    datum = {
        **{name: getattr(progress, name) for name in ("district_id", "last_partition")},
        **{name: getattr(progress, name) for name in ("last_offset", "record_count")},
        **{name: getattr(progress, name) for name in ("event_day", "synced_through")},
        **{name: getattr(progress, name) for name in ("synced_api_version", "sync_id")},
        "recently_deleted": [
            to_writer_datum(snapshot) for _, snapshot in progress.recently_deleted
        ],
        "skipped": [{"record_type": name, "count": count} for name, count in progress.skipped],
    }
    written = encode_progress(progress)
    assert written == fastavro_message(DISTRICT_PROGRESS, datum)
    assert decode_progress(written) == progress


@given(entry=students)
def test_a_student_entry_is_fastavros_message_and_reads_back(entry: StudentEntry) -> None:
    datum = {
        "exists": entry.exists,
        "last_sync_id": entry.last_sync_id,
        "listed_by": sorted(entry.listed_by),
    }
    written = encode_student(entry)
    assert written == fastavro_message(STUDENT_ENTRY, datum)
    assert decode_student(entry.district_id, entry.student_id, written) == entry


@given(listed=st.lists(clever_ids, unique=True, max_size=10), seed=st.randoms())
def test_equal_student_entries_are_equal_bytes(listed: list[str], seed: Any) -> None:
    shuffled = list(listed)
    seed.shuffle(shuffled)
    one = StudentEntry(district_id="d", student_id="s", listed_by=frozenset(listed))
    other = StudentEntry(district_id="d", student_id="s", listed_by=frozenset(shuffled))
    assert encode_student(one) == encode_student(other)


@given(grants=contact_grants)
def test_contact_grants_read_back(grants: ContactGrants) -> None:
    assert decode_grants(encode_grants(grants)) == grants


# The JSON an earlier version wrote, as it wrote it: a worker upgraded over its changelog.


@given(progress=progresses, grants=contact_grants, entry=students)
def test_json_values_of_an_earlier_version_still_read(
    progress: DistrictProgress, grants: ContactGrants, entry: StudentEntry
) -> None:
    assert decode_progress(json_progress(progress)) == progress
    assert decode_grants(json_grants(grants)) == grants
    assert decode_student(entry.district_id, entry.student_id, json_student(entry)) == entry


PROGRESS = DistrictProgress(district_id="d", last_partition=0, last_offset=7)
GRANTS = ContactGrants(district_id="d", contact_id="c")
STUDENT = StudentEntry(district_id="d", student_id="s", exists=True)
DECODERS: list[tuple[str, Callable[[bytes], object], bytes]] = [
    ("progress", decode_progress, encode_progress(PROGRESS)),
    ("grants", decode_grants, encode_grants(GRANTS)),
    ("student", lambda data: decode_student("d", "s", data), encode_student(STUDENT)),
]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[:-1], id="truncated"),
        pytest.param(lambda data: data + b"\x00", id="bytes-left-over"),
        pytest.param(lambda data: data[:2] + bytes(8) + data[10:], id="unknown-fingerprint"),
        pytest.param(lambda data: data[:10], id="no-body"),
        pytest.param(lambda data: data[:2], id="no-fingerprint"),
    ],
)
@pytest.mark.parametrize(
    ("decode", "data"),
    [pytest.param(decode, data, id=name) for name, decode, data in DECODERS],
)
def test_a_damaged_value_fails_to_decode(
    damage: Callable[[bytes], bytes], decode: Callable[[bytes], object], data: bytes
) -> None:
    with pytest.raises(DecodeError):
        decode(damage(data))


@pytest.mark.parametrize(
    ("decode", "data"),
    [
        pytest.param(decode_progress, encode_grants(GRANTS), id="grants-as-progress"),
        pytest.param(decode_grants, encode_progress(PROGRESS), id="progress-as-grants"),
        pytest.param(
            lambda data: decode_student("d", "s", data),
            encode_grants(GRANTS),
            id="grants-as-student",
        ),
    ],
)
def test_another_tables_value_fails_to_decode(
    decode: Callable[[bytes], object], data: bytes
) -> None:
    with pytest.raises(DecodeError, match="unknown schema"):
        decode(data)


@pytest.mark.parametrize(
    ("encode", "value"),
    [
        pytest.param(encode_progress, DistrictProgress(district_id=3), id="number-for-text"),  # type: ignore[arg-type]
        pytest.param(
            encode_progress,
            DistrictProgress(district_id="d", record_count=2**63),
            id="past-64-bits",
        ),
        pytest.param(
            encode_progress,
            DistrictProgress(district_id="d", skipped=(("x",),)),  # type: ignore[arg-type]
            id="short-pair",
        ),
        pytest.param(
            encode_student,
            StudentEntry(district_id="d", student_id="s", last_sync_id="\ud800"),
            id="lone-surrogate",
        ),
        pytest.param(
            encode_student,
            StudentEntry(district_id="d", student_id="s", exists=1),  # type: ignore[arg-type]
            id="number-for-boolean",
        ),
    ],
)
def test_what_does_not_fit_fails_to_encode(encode: Callable[[Any], bytes], value: Any) -> None:
    with pytest.raises(EncodeError, match="does not fit its schema"):
        encode(value)


def test_skip_counts_are_records_of_their_own() -> None:
    schema = internal_schema(DISTRICT_PROGRESS).schema
    (skipped,) = [field for field in schema.fields if field.name == "skipped"]
    assert isinstance(skipped.type, avro.schema.ArraySchema)
    assert isinstance(skipped.type.items, avro.schema.RecordSchema)
    assert skipped.type.items.fullname == SKIP_COUNT
