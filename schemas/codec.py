"""Encode and decode the contract's records: the one codec of the poller and the workers.

Bodies are written and read with ``fastavro`` (6 to 10 times faster than the ``avro``
package on our records; ``make bench`` prints the figures), while schemas are parsed,
fingerprinted and checked for compatibility with ``avro``, the reference implementation.
A message written with any released version of a schema decodes into the current record
type (Avro schema resolution); bytes that are not such a message raise DecodeError.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import avro.schema
import fastavro

from schemas.datum import from_datum, to_writer_datum
from schemas.exceptions import DecodeError, EncodeError, SchemaError, UnknownSchemaError
from schemas.history import released_schemas
from schemas.loader import SchemaSet, load_schemas
from schemas.records import MESSAGE_TYPES, Message
from schemas.wire import SingleObjectEncoding, WireFormat

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class _Writer:
    """A schema some message may have been written with."""

    full_name: str
    parsed: Any  # fastavro's parsed schema


class Codec:
    """Records to framed Avro bytes and back."""

    def __init__(
        self,
        schemas: SchemaSet,
        *,
        released: Iterable[Mapping[str, Any]] = (),
        wire: WireFormat | None = None,
    ) -> None:
        self._wire: WireFormat = wire or SingleObjectEncoding()
        self._current: dict[str, tuple[bytes, Any]] = {}
        self._writers: dict[bytes, _Writer] = {}
        for full_name in MESSAGE_TYPES:
            expanded = schemas.expanded_json(full_name)
            ref = self._wire.schema_ref(expanded)
            parsed = fastavro.parse_schema(expanded)
            self._current[full_name] = (ref, parsed)
            self._writers[ref] = _Writer(full_name, parsed)
        for document in released:
            schema = avro.schema.parse(json.dumps(document))  # validates it, too
            if not isinstance(schema, avro.schema.NamedSchema):
                raise SchemaError(f"a released schema is not a named type: {document}")
            parsed = fastavro.parse_schema(dict(document))
            self._writers.setdefault(
                self._wire.schema_ref(document), _Writer(schema.fullname, parsed)
            )

    def encode(self, record: Message) -> bytes:
        """The framed bytes of ``record``, written with the current schema of its type."""
        ref, parsed = self._current[record.AVRO_NAME]
        buffer = io.BytesIO()
        try:
            fastavro.schemaless_writer(buffer, parsed, to_writer_datum(record))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            raise EncodeError(
                f"a {type(record).__name__} does not fit its schema: {error}"
            ) from error
        return self._wire.frame(ref, buffer.getvalue())

    def decode(self, message: bytes, expected: type[M]) -> M:
        """The record of type ``expected`` in ``message``; DecodeError if it holds anything else."""
        record = self.decode_any(message)
        if not isinstance(record, expected):
            raise DecodeError(f"expected a {expected.__name__}, found a {type(record).__name__}")
        return record

    def decode_any(self, message: bytes) -> Message:
        """Whichever record ``message`` holds, in its current type."""
        ref, body = self._wire.split(message)
        writer = self._writers.get(ref)
        if writer is None:
            raise UnknownSchemaError(
                f"no known schema has the fingerprint {ref.hex()}: written by a newer or "
                "unrelated producer"
            )
        _, reader = self._current[writer.full_name]
        record_name = writer.full_name.rpartition(".")[2]
        buffer = io.BytesIO(body)
        # The bytes come from outside: whatever the reader trips on, it is a bad message.
        try:
            datum = fastavro.schemaless_reader(buffer, writer.parsed, reader)
            # fastavro types a datum as any Avro value; a record schema always gives a dict.
            record = from_datum(MESSAGE_TYPES[writer.full_name], datum)  # type: ignore[arg-type]
        except Exception as error:
            raise DecodeError(
                f"corrupt {record_name} body: {type(error).__name__}: {error}"
            ) from error
        if buffer.tell() != len(body):
            raise DecodeError(
                f"{len(body) - buffer.tell()} bytes left over after a {record_name}: "
                "the message is corrupt"
            )
        return record


@cache
def default_codec() -> Codec:
    """The codec of the contract as this version of the project ships it."""
    return Codec(load_schemas(), released=released_schemas())
