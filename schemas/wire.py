"""How a record's bytes name their schema: Avro single-object encoding, no registry needed.

A single-object message is ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer schema's parsing canonical form, then the Avro binary body (Avro specification,
"Single object encoding"). Java reads it with ``org.apache.avro.message.BinaryMessageDecoder``.
A schema registry's format (a magic byte and a registry ID) would be another
:class:`WireFormat`: the codec only asks a format to name a schema, frame a body, and split
a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import fastavro.schema

from schemas.exceptions import DecodeError

SINGLE_OBJECT_MARKER = b"\xc3\x01"
FINGERPRINT_BYTES = 8


def fingerprint(schema: Mapping[str, Any] | str) -> bytes:
    """The CRC-64-AVRO fingerprint of a schema's parsing canonical form, little-endian.

    Computed with fastavro, whose canonical form matches Java's. The ``avro`` package's
    differs for logical types (it writes ``{"type":"long"}`` where the specification's
    [PRIMITIVES] rule and Java write ``"long"``), so its fingerprints of our schemas are not
    the ones Java's BinaryMessageDecoder looks for; tests/integration/schemas/test_java_decodes.py
    holds us to Java's.
    """
    canonical = fastavro.schema.to_parsing_canonical_form(
        schema if isinstance(schema, str) else dict(schema)
    )
    return bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))


class WireFormat(Protocol):
    """Frames Avro bodies with a reference to their writer schema."""

    def schema_ref(self, schema: Mapping[str, Any]) -> bytes:
        """The reference this format writes for ``schema``."""
        ...

    def frame(self, schema_ref: bytes, body: bytes) -> bytes:
        """A message: the reference, then the body."""
        ...

    def split(self, message: bytes) -> tuple[bytes, memoryview]:
        """The schema reference and the body of a message; DecodeError if it is not one."""
        ...


class SingleObjectEncoding:
    """Avro's single-object encoding: the schema's fingerprint travels with every record."""

    header_bytes = len(SINGLE_OBJECT_MARKER) + FINGERPRINT_BYTES

    def schema_ref(self, schema: Mapping[str, Any]) -> bytes:
        """The schema's fingerprint (see :func:`fingerprint`)."""
        return fingerprint(schema)

    def frame(self, schema_ref: bytes, body: bytes) -> bytes:
        """``C3 01`` + fingerprint + body."""
        return SINGLE_OBJECT_MARKER + schema_ref + body

    def split(self, message: bytes) -> tuple[bytes, memoryview]:
        """Fingerprint and body of a single-object message."""
        if len(message) < self.header_bytes:
            raise DecodeError(
                f"{len(message)} bytes are too short for an Avro single-object message "
                f"(at least {self.header_bytes})"
            )
        if message[:2] != SINGLE_OBJECT_MARKER:
            raise DecodeError(
                f"not an Avro single-object message: starts with {message[:2].hex()}, "
                f"not {SINGLE_OBJECT_MARKER.hex()}"
            )
        view = memoryview(message)
        return bytes(view[2 : self.header_bytes]), view[self.header_bytes :]
