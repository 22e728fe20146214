"""The worker's internal Avro schemas: its tables' values (``schemas/internal/*.avsc``).

They are no part of the contract (no topic a consumer reads carries them) but are written
like it: Avro single-object messages, each naming its writer schema by fingerprint. They may
use the contract's named types (``DistrictProgress`` holds ``ContactSnapshot`` records), so
they are parsed together with ``schemas/avro/*.avsc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import avro.errors
import avro.schema
import fastavro

from schemas.exceptions import SchemaError
from schemas.loader import SchemaSet, parse_documents, read_documents
from schemas.wire import SINGLE_OBJECT_MARKER, SingleObjectEncoding

#: The namespace of every internal schema.
NAMESPACE: Final = "dev.cleverstream.tables"
STUDENT_ENTRY: Final = f"{NAMESPACE}.StudentEntry"
CONTACT_GRANTS: Final = f"{NAMESPACE}.ContactGrants"
PAIR_GRANT: Final = f"{NAMESPACE}.PairGrant"
DISTRICT_PROGRESS: Final = f"{NAMESPACE}.DistrictProgress"
SKIP_COUNT: Final = f"{NAMESPACE}.SkipCount"


def read_internal_documents() -> dict[str, dict[str, Any]]:
    """Every ``schemas/internal/*.avsc`` as JSON, by the full name it defines."""
    return read_documents("internal")


@cache
def load_internal_schemas() -> SchemaSet:
    """The internal schemas, parsed with the ``avro`` package (which validates them)."""
    internal = read_internal_documents()
    contract = read_documents()
    clashing = sorted(set(internal) & set(contract))
    if clashing:
        raise SchemaError(f"internal schemas redefine the contract's {', '.join(clashing)}")
    parsed = parse_documents(contract | internal)
    return SchemaSet({name: parsed[name] for name in internal})


@dataclass(frozen=True)
class InternalSchema:
    """One internal record schema, ready to write and read single-object messages."""

    schema: avro.schema.RecordSchema
    #: What every message of it starts with: ``C3 01`` and the schema's fingerprint.
    header: bytes
    #: fastavro's parsed schema, to read the bodies with.
    parsed: Any


@cache
def internal_schema(full_name: str) -> InternalSchema:
    """The internal record schema ``full_name`` (``SchemaError`` if there is none)."""
    schema = load_internal_schemas()[full_name]
    if not isinstance(schema, avro.schema.RecordSchema):
        raise SchemaError(f"{full_name} is not a record")
    expanded = load_internal_schemas().expanded_json(full_name)
    header = SINGLE_OBJECT_MARKER + SingleObjectEncoding().schema_ref(expanded)
    return InternalSchema(schema, header, fastavro.parse_schema(expanded))
