"""The ``avro`` package against ``fastavro``, encoding and decoding our own records.

Both write the same Avro binary body (the single-object header is the same few bytes for
either), so the codec can use whichever is faster without changing a byte on the wire. The
records are the pipeline's busiest: a raw Clever event of about 1 KiB, a privilege change and
a contact snapshot; the figures are ratios measured side by side in one process.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import avro.io
import fastavro

from bench.payload import contact_event, object_id
from schemas.datum import to_datum
from schemas.loader import load_schemas
from schemas.records import (
    Cause,
    ContactSnapshot,
    Message,
    Privilege,
    PrivilegeChange,
    RawCleverRecord,
    StudentRelationship,
)
from schemas.values import (
    CauseKind,
    ChangeKind,
    ContactType,
    PhoneType,
    RawRecordKind,
    RecordSource,
    Relationship,
)

_NOW = datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=UTC)


@dataclass(frozen=True)
class CodecFigures:
    """Records per second of one library for one record type and one direction."""

    record: str
    direction: str
    library: str
    rates: list[float]

    @property
    def median(self) -> float:
        """The median rate over the repeats."""
        return statistics.median(self.rates)


def sample_records() -> list[Message]:
    """One record of each type the pipeline writes most, with realistic sizes."""
    district = object_id("district", 1)
    privilege = Privilege(
        relationship=Relationship.PARENT,
        relationship_raw="Parent",
        contact_type=ContactType.PARENT_GUARDIAN,
        contact_type_raw="Parent/Guardian",
    )
    return [
        RawCleverRecord(
            district_id=district,
            api_version="v3.0",
            kind=RawRecordKind.EVENT,
            source=RecordSource.EVENTS,
            event_id=object_id("event", 1),
            event_type="users.updated",
            record_type="users",
            record_id=object_id("contact", 1),
            created_at=_NOW,
            fetched_at=_NOW,
            clever_json=contact_event(1, district).decode(),
        ),
        PrivilegeChange(
            change_id=object_id("change", 1),
            kind=ChangeKind.CHANGED,
            district_id=district,
            contact_id=object_id("contact", 1),
            student_id=object_id("student", 1),
            before=privilege,
            after=Privilege(relationship=Relationship.GRANDPARENT, contact_type=ContactType.FAMILY),
            cause=Cause(
                kind=CauseKind.CLEVER_EVENT,
                clever_event_id=object_id("event", 1),
                clever_event_type="users.updated",
            ),
            occurred_at=_NOW,
            emitted_at=_NOW,
        ),
        ContactSnapshot(
            district_id=district,
            contact_id=object_id("contact", 1),
            sis_id="G000000001",
            phone_type=PhoneType.CELL,
            phone_type_raw="Cell",
            relationships=tuple(
                StudentRelationship(student_id=object_id("student", n), privilege=privilege)
                for n in range(3)
            ),
            last_event_id=object_id("event", 1),
            updated_at=_NOW,
        ),
    ]


def run_codec_bench(*, iterations: int, repeat: int) -> list[CodecFigures]:
    """Encode and decode each sample ``iterations`` times per repeat with both libraries."""
    schemas = load_schemas()
    figures: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(repeat):
        for record in sample_records():
            name = type(record).__name__
            expanded = schemas.expanded_json(record.AVRO_NAME)
            datum = to_datum(record)
            for library, (encode, decode) in _libraries(expanded, schemas[record.AVRO_NAME]):
                body = encode(datum)
                # Libraries alternate within a repeat, so drift between repeats hits both alike.
                steps: list[tuple[str, Callable[[], object]]] = [
                    ("encode", partial(encode, datum)),
                    ("decode", partial(decode, body)),
                ]
                for direction, work in steps:
                    figures.setdefault((name, direction, library), []).append(
                        iterations / _seconds(work, iterations)
                    )
    return [CodecFigures(*key, rates) for key, rates in figures.items()]


def _libraries(
    expanded: dict[str, Any], avro_schema: Any
) -> list[tuple[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]]]:
    parsed = fastavro.parse_schema(expanded)
    writer = avro.io.DatumWriter(avro_schema)
    reader = avro.io.DatumReader(avro_schema, avro_schema)

    def avro_encode(datum: Any) -> bytes:
        buffer = io.BytesIO()
        writer.write(datum, avro.io.BinaryEncoder(buffer))
        return buffer.getvalue()

    def avro_decode(body: bytes) -> Any:
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(body)))

    def fastavro_encode(datum: Any) -> bytes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, datum)
        return buffer.getvalue()

    def fastavro_decode(body: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(body), parsed, parsed)

    return [("avro", (avro_encode, avro_decode)), ("fastavro", (fastavro_encode, fastavro_decode))]


def _seconds(work: Callable[[], object], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        work()
    return time.perf_counter() - started
