"""Typed reads of a partition's committed tables: what the query views answer from."""

from __future__ import annotations

from dataclasses import replace

from schemas.records import ContactSnapshot
from streams.processor.store import ContactGrants, DistrictProgress, StudentEntry
from streams.state.backing import TableBacking
from streams.state.tables import (
    CONTACTS,
    DELETED,
    DISTRICTS,
    GRANTS,
    STUDENTS,
    TableFormat,
    district_prefix,
    ids_of,
    table_key,
)


class TableReader:
    """Reads of committed tables, decoded; it never writes."""

    def __init__(self, backing: TableBacking, *, table_format: TableFormat) -> None:
        self._backing = backing
        self._format = table_format

    def get_contact(self, district_id: str, contact_id: str) -> ContactSnapshot | None:
        data = self._backing.get(CONTACTS, table_key(district_id, contact_id))
        return None if data is None else self._format.decode_contact(data)

    def get_student(self, district_id: str, student_id: str) -> StudentEntry | None:
        data = self._backing.get(STUDENTS, table_key(district_id, student_id))
        return None if data is None else self._format.decode_student(district_id, student_id, data)

    def get_grants(self, district_id: str, contact_id: str) -> ContactGrants | None:
        data = self._backing.get(GRANTS, table_key(district_id, contact_id))
        return None if data is None else self._format.decode_grants(data)

    def get_district(self, district_id: str) -> DistrictProgress | None:
        data = self._backing.get(DISTRICTS, table_key(district_id))
        if data is None:
            return None
        progress = self._format.decode_progress(data)
        deleted = self._backing.get(DELETED, table_key(district_id))
        if deleted is None:
            return progress
        return replace(
            progress, recently_deleted=self._format.decode_progress(deleted).recently_deleted
        )

    def contact_ids(self, district_id: str) -> list[str]:
        return ids_of(self._backing.keys(CONTACTS, district_prefix(district_id)), district_id)

    def student_ids(self, district_id: str) -> list[str]:
        return ids_of(self._backing.keys(STUDENTS, district_prefix(district_id)), district_id)
