"""The grants table's values: a contact's grants as ``ContactGrants`` single-object messages.

``streams.processor.encoding.encode_grants`` writes them with a ``GrantsWriter`` of its own,
so the table's values have one format and one writer: the internal ``ContactGrants`` schema
(``schemas/internal/ContactGrants.avsc``), written by a writer compiled from it.
"""

from __future__ import annotations

from schemas.internal_schemas import CONTACT_GRANTS
from streams.writers.table_values import ValueWriter


class GrantsWriter:
    """A contact's grants (a ``streams.processor.store.ContactGrants``) to their bytes."""

    def __init__(self) -> None:
        self._write = ValueWriter(CONTACT_GRANTS).write

    def grants(self, grants: object) -> bytes:
        """The grants table's value of ``grants``; ``EncodeError`` if they do not fit."""
        return self._write(grants)
