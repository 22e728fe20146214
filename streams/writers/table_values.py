"""The worker's internal table values as Avro single-object messages, by compiled writers.

Each value is a record of an internal schema (``schemas/internal/*.avsc``, loaded by
``schemas.internal_schemas``): the schema's header (``C3 01`` and its fingerprint), then the
body written by a writer compiled from the schema (``streams.writers.compiler``). The values'
Python types live in ``streams.processor``, above this package, so their records are read by
attribute; ``fields`` says how to read a field whose Python shape differs (a set written
sorted, pairs written as records). The contract's types they hold (a ``ContactSnapshot``)
are checked and written as the codec writes them.
"""

from __future__ import annotations

from schemas.exceptions import EncodeError
from schemas.internal_schemas import internal_schema
from streams.writers.checked import CONTRACT_TYPES
from streams.writers.compiler import FieldMap, RecordCompiler


class ValueWriter:
    """Values of one internal record schema, as single-object messages."""

    def __init__(self, full_name: str, *, fields: FieldMap | None = None) -> None:
        schema = internal_schema(full_name)
        self._name = schema.schema.name
        self._header = schema.header
        self._body = RecordCompiler(CONTRACT_TYPES, fields=fields).record(schema.schema)

    def write(self, value: object) -> bytes:
        """The message of ``value``; ``EncodeError`` if it does not fit the schema."""
        try:
            return self._header + self._body(value)
        except (
            TypeError,
            ValueError,
            AttributeError,
            KeyError,
            IndexError,
            OverflowError,
        ) as error:
            raise EncodeError(
                f"a {self._name} does not fit its schema: {type(error).__name__}: {error}"
            ) from error
