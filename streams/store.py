"""The processor's ``StateStore`` over the worker's tables: bytes keyed by bytes.

The same store serves both engines. Under Faust (``streams.worker``) the tables are Faust
tables, whose every write goes to a changelog in the transaction of the raw record being
processed (see ``streams.output``). Under the engine (``streams.engine``) they are views of
a partition's committed state and its open transaction's writes (``streams.engine.state``).
Either way a crash loses the writes and the outputs together, and recovery rebuilds exactly
the committed state.

A district's progress is written on every record (its last offset), so it is kept small: the
recently deleted contacts that a re-created contact may be linked to live in a table of
their own, written only when they change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from dataclasses import replace
from typing import Protocol

from schemas.codec import Codec
from schemas.records import ContactSnapshot
from streams.processor.encoding import decode_grants, decode_progress, encode_progress
from streams.processor.store import ContactGrants, DistrictProgress
from streams.writers.contact_writer import ContactWriter
from streams.writers.grants_writer import GrantsWriter

SEPARATOR = "/"


def _key(*parts: str) -> bytes:
    return SEPARATOR.join(parts).encode("utf-8")


class TableSet(Protocol):
    """The five tables (see ``streams.tables``), whatever keeps them."""

    @property
    def contacts(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def students(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def grants(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def districts(self) -> MutableMapping[bytes, bytes]: ...

    @property
    def deleted(self) -> MutableMapping[bytes, bytes]: ...


class TableStore:
    """Reads and writes the tables; decoding is cached by the identity of the stored bytes."""

    def __init__(self, tables: TableSet, *, codec: Codec) -> None:
        self._tables = tables
        self._codec = codec
        # district -> (the stored bytes, what they decode to): reused while the bytes are.
        self._deleted: dict[str, tuple[bytes, DistrictProgress]] = {}
        #: The codec's and ``encode_grants``'s bytes, written faster; made on the first
        #: write (a store of the views only reads).
        self._contact_writer: ContactWriter | None = None
        self._grants_writer: GrantsWriter | None = None

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        data = self._tables.contacts.get(_key(district_id, contact_id))
        return None if data is None else self._codec.decode(data, ContactSnapshot)

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        key = _key(snapshot.district_id, snapshot.contact_id)
        writer = self._contact_writer
        if writer is None:
            writer = self._contact_writer = ContactWriter(self._codec)
        self._tables.contacts[key] = writer.contact(snapshot)

    def delete_contact(self, district_id: str, contact_id: str) -> None:
        self._tables.contacts.pop(_key(district_id, contact_id), None)

    def contacts_of_student(self, district_id: str, student_id: str) -> frozenset[str]:
        data = self._tables.students.get(_key(district_id, student_id))
        return frozenset() if data is None else frozenset(json.loads(data))

    def set_contacts_of_student(
        self, district_id: str, student_id: str, contacts: frozenset[str]
    ) -> None:
        key = _key(district_id, student_id)
        if contacts:
            self._tables.students[key] = json.dumps(sorted(contacts)).encode("utf-8")
        else:
            self._tables.students.pop(key, None)

    def contact_ids(self, district_id: str) -> Iterator[str]:
        prefix = _key(district_id, "")
        # A list first: the caller deletes contacts while it walks them.
        found = [key[len(prefix) :] for key in self._tables.contacts if key.startswith(prefix)]
        return iter([contact.decode("utf-8") for contact in found])

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        data = self._tables.grants.get(_key(district_id, contact_id))
        return None if data is None else decode_grants(data)

    def put_grants(self, grants: ContactGrants) -> None:
        key = _key(grants.district_id, grants.contact_id)
        if grants.grants:
            writer = self._grants_writer
            if writer is None:
                writer = self._grants_writer = GrantsWriter()
            self._tables.grants[key] = writer.grants(grants)
        else:
            self._tables.grants.pop(key, None)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        data = self._tables.districts.get(_key(district_id))
        if data is None:
            return None
        progress = decode_progress(data)
        return replace(progress, recently_deleted=self._recently_deleted(district_id))

    def put_district(self, progress: DistrictProgress) -> None:
        district_id = progress.district_id
        self._tables.districts[_key(district_id)] = encode_progress(
            replace(progress, recently_deleted=())
        )
        cached = self._deleted.get(district_id)
        if cached is not None and cached[1].recently_deleted is progress.recently_deleted:
            return  # unchanged: the same tuple that was read
        if not progress.recently_deleted and cached is None:
            return
        deleted_only = DistrictProgress(
            district_id=district_id, recently_deleted=progress.recently_deleted
        )
        data = encode_progress(deleted_only)
        self._tables.deleted[_key(district_id)] = data
        self._deleted[district_id] = (data, deleted_only)

    def _recently_deleted(self, district_id: str) -> tuple[tuple[str, ContactSnapshot], ...]:
        data = self._tables.deleted.get(_key(district_id))
        if data is None:
            self._deleted.pop(district_id, None)
            return ()
        cached = self._deleted.get(district_id)
        if cached is None or cached[0] is not data:
            cached = (data, decode_progress(data))
            self._deleted[district_id] = cached
        return cached[1].recently_deleted
