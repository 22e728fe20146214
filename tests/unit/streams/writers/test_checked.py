"""A checked writer writes the codec's bytes for every record type of the contract, follows
its ``.avsc`` with no change of code, and says why when it leaves the writing to the codec."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import avro.schema
import pytest
from avro.name import Names
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import Codec, default_codec
from schemas.loader import SchemaSet, dependency_order, load_schemas, read_documents
from schemas.records import MESSAGE_TYPES, Message, Privilege, PrivilegeState
from schemas.values import ContactType, Relationship
from streams.writers.checked import CONTRACT_TYPES, CheckedWriter
from streams.writers.compiler import RecordCompiler
from streams.writers.probes import probe_records
from tests.strategies import MESSAGES
from tests.unit.streams.writers.codecs import trailing_codec

CODEC = default_codec()
NOW = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
WRITERS: dict[type[Message], CheckedWriter[Any]] = {
    message_type: CheckedWriter(CODEC, message_type) for message_type in MESSAGE_TYPES.values()
}


@pytest.mark.parametrize("message_type", list(WRITERS), ids=lambda kind: kind.__name__)
def test_every_record_type_of_the_contract_writes_itself(message_type: type[Message]) -> None:
    assert WRITERS[message_type].writes_itself
    assert WRITERS[message_type].fallback_reason is None


@given(record=st.one_of(*MESSAGES.values()))
def test_every_record_is_the_codecs_bytes(record: Message) -> None:
    assert WRITERS[type(record)].write(record) == CODEC.encode(record)


def schemas_with(change: Callable[[dict[str, Any]], dict[str, Any]], full_name: str) -> SchemaSet:
    """The contract's schemas, with ``change`` made to ``full_name``'s document."""
    documents = read_documents()
    documents[full_name] = change(documents[full_name])
    names = Names()
    parsed: dict[str, avro.schema.NamedSchema] = {}
    for name in dependency_order(documents):
        schema = avro.schema.make_avsc_object(documents[name], names)
        assert isinstance(schema, avro.schema.NamedSchema)
        parsed[name] = schema
    return SchemaSet(parsed)


def reordered(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "fields": document["fields"][::-1]}


def with_a_new_field(document: dict[str, Any]) -> dict[str, Any]:
    """A field the Python record does not have yet: written as its default."""
    new = {"name": "note", "type": ["null", "string"], "default": None, "doc": "New."}
    return {**document, "fields": [*document["fields"][:2], new, *document["fields"][2:]]}


@pytest.mark.parametrize(
    "change",
    [pytest.param(reordered, id="reordered"), pytest.param(with_a_new_field, id="new-field")],
)
@given(state=MESSAGES[PrivilegeState])
def test_it_follows_a_changed_avsc(
    change: Callable[[dict[str, Any]], dict[str, Any]], state: PrivilegeState
) -> None:
    schemas = schemas_with(change, PrivilegeState.AVRO_NAME)
    codec = Codec(schemas)
    writer = CheckedWriter(codec, PrivilegeState, schemas=schemas)

    assert writer.writes_itself
    assert writer.write(state) == codec.encode(state)
    assert writer.write(state) != CODEC.encode(state)


def test_a_failed_check_is_logged_with_its_reason_and_the_codec_writes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    codec = trailing_codec()
    with caplog.at_level(logging.WARNING, logger="streams.writers.checked"):
        writer = CheckedWriter(codec, PrivilegeState)

    assert not writer.writes_itself
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "PrivilegeState" in record.getMessage()
    assert "probe 1" in record.getMessage()
    assert writer.fallback_reason == "its body of probe 1 is not the end of the codec's bytes"
    state = PrivilegeState(
        district_id="d",
        contact_id="c",
        student_id="s",
        privilege=Privilege(relationship=Relationship.PARENT, contact_type=ContactType.FAMILY),
        granted_at=NOW,
        last_change_id="x",
        updated_at=NOW,
    )
    assert writer.write(state) == codec.encode(state)


def test_a_schema_it_cannot_compile_is_logged_and_the_codec_writes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A compiler that knows no Python enum cannot write PrivilegeState's privilege.
    with caplog.at_level(logging.WARNING, logger="streams.writers.checked"):
        writer = CheckedWriter(CODEC, PrivilegeState, compiler=RecordCompiler({}))

    assert not writer.writes_itself
    assert "Relationship" in (writer.fallback_reason or "")
    assert [record.levelno for record in caplog.records] == [logging.WARNING]


@pytest.mark.parametrize("message_type", list(WRITERS), ids=lambda kind: kind.__name__)
def test_probes_cover_every_symbol_branch_and_length_class(message_type: type[Message]) -> None:
    schema = default_codec_schema(message_type)
    probes = probe_records(schema, CONTRACT_TYPES)
    for field in schema.fields:
        values = [getattr(probe, field.name) for probe in probes]
        kind = field.type
        if isinstance(kind, avro.schema.UnionSchema):
            assert None in values, field.name
            assert any(value is not None for value in values), field.name
            (kind,) = [branch for branch in kind.schemas if branch.type != "null"]
            values = [value for value in values if value is not None]
        if isinstance(kind, avro.schema.EnumSchema):
            assert {value.value for value in values} == set(kind.symbols), field.name
        if isinstance(kind, avro.schema.ArraySchema):
            assert {0, 1, 64, 130} <= {len(value) for value in values}, field.name
        if kind.type == "string":
            assert {0, 1, 64, 20000} <= {len(value) for value in values}, field.name


def default_codec_schema(message_type: type[Message]) -> avro.schema.RecordSchema:
    schema = load_schemas()[message_type.AVRO_NAME]
    assert isinstance(schema, avro.schema.RecordSchema)
    return schema
