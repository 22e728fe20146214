"""A compiled writer of one contract record type, checked against the codec before it writes.

``CheckedWriter`` compiles its type's schema (``streams.writers.compiler``) and writes probe
records made from that schema (``streams.writers.probes``) with both itself and the codec.
Only if the codec writes each probe as one header (its wire format's framing, the same for
every probe) followed by exactly the compiled writer's body does the writer write anything
itself; otherwise it logs why at WARNING and the codec writes every record. A record the
compiled writer does not expect (a plain string for an enum, a naive time, anything that is
not text where text goes) also goes to the codec, which then writes or refuses it exactly as
it always does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final, Generic, TypeVar

import avro.schema

from schemas.codec import Codec
from schemas.loader import SchemaSet, load_schemas
from schemas.records import RECORD_TYPES, Message
from schemas.values import ENUM_TYPES
from streams.writers.compiler import Encode, RecordCompiler, TypeMap
from streams.writers.exceptions import ProbeMismatchError, UnsupportedSchemaError
from streams.writers.probes import probe_records

M = TypeVar("M", bound=Message)

logger = logging.getLogger(__name__)

#: The Python type of every named type of the contract.
CONTRACT_TYPES: Final[TypeMap] = {**RECORD_TYPES, **ENUM_TYPES}


class CheckedWriter(Generic[M]):
    """``codec.encode`` of records of one type: the compiled writer's bytes when it matched
    the codec on every probe, the codec's otherwise."""

    def __init__(
        self,
        codec: Codec,
        record_type: type[M],
        *,
        compiler: RecordCompiler | None = None,
        schemas: SchemaSet | None = None,
    ) -> None:
        self._codec = codec
        self._header: bytes | None = None
        self._body: Encode = _unused
        #: Why the codec writes every record, or None when this writer writes.
        self.fallback_reason: str | None = None
        try:
            schema = (schemas or load_schemas())[record_type.AVRO_NAME]
            self._body, self._header = _checked(codec, schema, compiler)
        except (UnsupportedSchemaError, ProbeMismatchError) as error:
            self.fallback_reason = str(error)
        except Exception as error:  # a bug here must not stop the worker: the codec writes
            self.fallback_reason = f"compiling it failed: {type(error).__name__}"
        if self.fallback_reason is not None:
            logger.warning(
                "the compiled %s writer is not used, the codec writes every one: %s",
                record_type.__name__,
                self.fallback_reason,
            )

    @property
    def writes_itself(self) -> bool:
        """Whether the probes matched, so that this writer (not the codec) writes."""
        return self._header is not None

    def write(self, record: M) -> bytes:
        """The codec's bytes of ``record``."""
        header = self._header
        if header is not None:
            try:
                return header + self._body(record)
            except Exception:  # noqa: S110 - anything unexpected: the codec writes, or raises
                pass
        return self._codec.encode(record)


def _checked(
    codec: Codec, schema: avro.schema.Schema, compiler: RecordCompiler | None
) -> tuple[Encode, bytes]:
    """The compiled body writer of ``schema`` and the codec's header before its bodies."""
    if not isinstance(schema, avro.schema.RecordSchema):
        raise UnsupportedSchemaError(f"a {schema.type} schema, not a record")
    body = (compiler or RecordCompiler(CONTRACT_TYPES)).record(schema)
    return body, _codec_header(codec, probe_records(schema, CONTRACT_TYPES), body)


def _codec_header(codec: Codec, probes: Iterable[Message], body: Encode) -> bytes:
    """What the codec writes before every body of ``probes``, if it writes each as ``body``
    then; ``ProbeMismatchError`` if it does not."""
    header: bytes | None = None
    for number, probe in enumerate(probes, start=1):
        try:
            expected = codec.encode(probe)
        except Exception as error:
            raise ProbeMismatchError(
                f"the codec refused probe {number}: {type(error).__name__}"
            ) from None
        try:
            written = body(probe)
        except Exception as error:
            raise ProbeMismatchError(f"it refused probe {number}: {type(error).__name__}") from None
        if not expected.endswith(written):
            raise ProbeMismatchError(
                f"its body of probe {number} is not the end of the codec's bytes"
            )
        found = expected[: len(expected) - len(written)]
        if header is None:
            header = found
        elif found != header:
            raise ProbeMismatchError(f"the codec's bytes before the body of probe {number} differ")
    if header is None:
        raise ProbeMismatchError("no probe")
    return header


def _unused(_: object) -> bytes:
    raise TypeError("no compiled writer")
