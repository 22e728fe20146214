"""The codec: every record round-trips, and bad bytes raise one clear error, never a crash."""

from __future__ import annotations

import contextlib
import io
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import Codec, default_codec
from schemas.exceptions import DecodeError, EncodeError, UnknownSchemaError
from schemas.loader import load_schemas
from schemas.records import MESSAGE_TYPES, DeadLetter, Message, PollerCursor, PrivilegeChange
from schemas.values import ChangeKind, CursorPhase, Relationship
from schemas.wire import SINGLE_OBJECT_MARKER, SingleObjectEncoding, fingerprint
from tests.strategies import MESSAGES, messages

NOW = datetime(2026, 11, 23, 12, 30, 15, 250000, tzinfo=UTC)


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGES) == set(MESSAGE_TYPES.values())


@given(record=messages)
def test_every_record_round_trips(record: Message) -> None:
    codec = default_codec()

    assert codec.decode(codec.encode(record), type(record)) == record
    assert codec.decode_any(codec.encode(record)) == record


def test_the_fingerprint_is_avros_crc64_of_the_canonical_form() -> None:
    # The Avro specification's test vector: the schema "int" has the fingerprint
    # 0x7275d51a3f395c8f, written little-endian in a single-object header.
    assert fingerprint("int") == struct.pack("<q", 0x7275D51A3F395C8F)


def test_a_logical_type_is_fingerprinted_as_its_primitive_as_java_does() -> None:
    timestamp = {"type": "long", "logicalType": "timestamp-millis"}

    assert fingerprint(
        {"type": "record", "name": "T", "fields": [{"name": "at", "type": timestamp}]}
    ) == fingerprint({"type": "record", "name": "T", "fields": [{"name": "at", "type": "long"}]})


def test_a_message_is_marker_fingerprint_body() -> None:
    cursor = PollerCursor(
        district_id="d1", api_version="v3.0", phase=CursorPhase.POLLING, updated_at=NOW
    )
    schema = load_schemas().expanded_json(PollerCursor.AVRO_NAME)

    message = default_codec().encode(cursor)

    assert message[:2] == SINGLE_OBJECT_MARKER
    assert message[2:10] == fingerprint(schema)
    # The body is plain Avro binary: any Avro library reads it with the schema.
    body = fastavro.schemaless_reader(
        io.BytesIO(message[10:]),
        fastavro.parse_schema(load_schemas().expanded_json(PollerCursor.AVRO_NAME)),
    )
    assert isinstance(body, dict)
    assert body["district_id"] == "d1"


def dead_letter() -> DeadLetter:
    return DeadLetter(
        stage="privileges-worker",
        error_type="DecodeError",
        error_message="corrupt",
        original_value=b"\x00\x01",
        failed_at=NOW,
    )


@pytest.mark.parametrize(
    ("message", "error"),
    [
        pytest.param(b"", "too short", id="empty"),
        pytest.param(b"\xc3\x01\x00", "too short", id="short"),
        pytest.param(b'{"json": "not avro"}', "not an Avro single-object message", id="json"),
        pytest.param(SINGLE_OBJECT_MARKER + b"\x00" * 8 + b"\x02", "no known schema", id="unknown"),
    ],
)
def test_bytes_that_are_not_our_messages(message: bytes, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        default_codec().decode_any(message)


def test_an_unknown_fingerprint_is_its_own_kind_of_decode_error() -> None:
    with pytest.raises(UnknownSchemaError):
        default_codec().decode_any(SINGLE_OBJECT_MARKER + b"\xff" * 8)


def test_a_truncated_body_is_corrupt() -> None:
    message = default_codec().encode(dead_letter())

    for end in range(10, len(message)):
        with pytest.raises(DecodeError):
            default_codec().decode_any(message[:end])


def test_trailing_bytes_are_corrupt() -> None:
    with pytest.raises(DecodeError, match="left over"):
        default_codec().decode_any(default_codec().encode(dead_letter()) + b"\x00")


def test_the_wrong_record_type_is_refused() -> None:
    with pytest.raises(DecodeError, match="expected a PrivilegeChange, found a DeadLetter"):
        default_codec().decode(default_codec().encode(dead_letter()), PrivilegeChange)


@given(garbage=st.binary(max_size=300))
def test_no_bytes_raise_anything_but_a_decode_error(garbage: bytes) -> None:
    with contextlib.suppress(DecodeError):
        default_codec().decode_any(garbage)


@given(body=st.binary(max_size=300), record_type=st.sampled_from(list(MESSAGE_TYPES)))
def test_a_known_header_on_garbage_raises_only_decode_errors(body: bytes, record_type: str) -> None:
    header = SINGLE_OBJECT_MARKER + fingerprint(load_schemas().expanded_json(record_type))
    with contextlib.suppress(DecodeError):
        default_codec().decode_any(header + body)


def test_a_record_that_does_not_fit_its_schema_is_an_encode_error() -> None:
    broken = DeadLetter(
        stage="poller",
        error_type="X",
        error_message="m",
        source_partition=2**40,  # an Avro int is 32 bits
        failed_at=NOW,
    )

    with pytest.raises(EncodeError, match="DeadLetter"):
        default_codec().encode(broken)


Document = dict[str, Any]


def edited_schema(full_name: str, edit: Callable[[Document], None]) -> Document:
    """The current schema of ``full_name`` as another release might write it."""
    document: Document = json.loads(json.dumps(load_schemas().expanded_json(full_name)))
    edit(document)
    return document


def field_of(document: Document, name: str) -> Document:
    [field] = [field for field in document["fields"] if field["name"] == name]
    return field  # type: ignore[no-any-return]


def encode_with(document: Document, datum: dict[str, object]) -> bytes:
    """A single-object message written with ``document`` (not a schema the codec owns)."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(document), datum)
    return SingleObjectEncoding().frame(fingerprint(document), buffer.getvalue())


def change_datum(relationship: str) -> dict[str, object]:
    privilege = {
        "relationship": relationship,
        "relationship_raw": "Step-parent",
        "contact_type": "PARENT_GUARDIAN",
        "contact_type_raw": None,
    }
    return {
        "change_id": "c1",
        "kind": "GRANTED",
        "district_id": "d1",
        "contact_id": "k1",
        "student_id": "s1",
        "before": None,
        "after": privilege,
        "cause": {
            "kind": "CLEVER_EVENT",
            "clever_event_id": "e1",
            "clever_event_type": None,
            "sync_id": None,
        },
        "reissued_from_contact_id": None,
        "occurred_at": NOW,
        "emitted_at": NOW,
    }


def test_a_symbol_added_later_reads_as_unrecognized_with_its_raw_text() -> None:
    def add_step_parent(document: Document) -> None:
        # Privilege is defined inline at its first use, the `before` field.
        privilege = field_of(document, "before")["type"][1]
        field_of(privilege, "relationship")["type"]["symbols"].insert(0, "STEP_PARENT")

    document = edited_schema(PrivilegeChange.AVRO_NAME, add_step_parent)
    codec = Codec(load_schemas(), released=[document])

    change = codec.decode(encode_with(document, change_datum("STEP_PARENT")), PrivilegeChange)

    assert change.kind is ChangeKind.GRANTED
    assert change.after is not None
    assert change.after.relationship is Relationship.UNRECOGNIZED
    assert change.after.relationship_raw == "Step-parent"


def test_a_message_of_an_older_release_decodes_into_the_current_type() -> None:
    # An older PollerCursor without `sync_role` (a field the current schema has, with a default).
    def drop_sync_role(document: Document) -> None:
        document["fields"] = [f for f in document["fields"] if f["name"] != "sync_role"]

    older = edited_schema(PollerCursor.AVRO_NAME, drop_sync_role)
    codec = Codec(load_schemas(), released=[older])
    datum = {
        "district_id": "d1",
        "api_version": "v3.0",
        "phase": "SYNCING",
        "last_event_id": "e9",
        "sync_id": "s1",
        "sync_resume_after": "u5",
        "updated_at": NOW,
    }

    cursor = codec.decode(encode_with(older, datum), PollerCursor)

    assert cursor.sync_role is None
    assert (cursor.phase, cursor.sync_resume_after) == (CursorPhase.SYNCING, "u5")
