"""The worker's tables as Faust tables: changelog-backed, partitioned like the raw topic.

Faust writes a table's changelog record to the partition of the event being processed, so
every key a district's records touch lives in that district's partition: a worker taking
over the partition recovers exactly the district's state from the changelog. The tables'
keys and values are ``streams.state.tables``'s.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import faust
from aiokafka.partitioner import DefaultPartitioner
from faust.stores.memory import Store as MemoryStore
from faust.types import EventT, TableT

from schemas.keys import district_key
from streams.state.backing import Writes
from streams.state.tables import (
    CONTACTS,
    DELETED,
    DISTRICTS,
    EVENTS,
    GRANTS,
    STUDENTS,
    district_of_key,
)


class DistrictTable(faust.Table[bytes, bytes]):
    """A worker table: each entry lives in its district's raw partition.

    Faust's in-memory store keeps every partition's entries in one dictionary, where the last
    record recovered for a key wins, whatever its partition. After ``clever-stream partitions
    grow`` a district's entries sit on its new partition, and its old partition holds their
    older values and tombstones; the partitions are recovered in no set order. So records on
    a partition other than their district's are kept out of the in-memory store. A store that
    keeps partitions apart (RocksDB) applies them all: the tombstones clear the old copies.
    """

    def apply_changelog_batch(self, batch: Iterable[EventT[bytes]]) -> None:
        if isinstance(self.data, MemoryStore):
            batch = [event for event in batch if self._at_home(event)]
        super().apply_changelog_batch(batch)

    def _at_home(self, event: EventT[bytes]) -> bool:
        key = event.message.key
        if not isinstance(key, bytes):
            return True
        try:
            district_id = district_of_key(key)
        except ValueError:
            return True
        return bool(event.message.partition == _partition_of(district_id, self.partitions))


@functools.lru_cache(maxsize=65_536)
def _partition_of(district_id: str, partitions: int) -> int:
    """The raw partition of ``district_id``: Kafka's default partitioner on its key."""
    every = list(range(partitions))
    return DefaultPartitioner()(district_key(district_id), every, every)


@dataclass(frozen=True, kw_only=True)
class WorkerTables:
    """The tables of the privilege worker."""

    contacts: TableT[bytes, bytes]
    students: TableT[bytes, bytes]
    grants: TableT[bytes, bytes]
    districts: TableT[bytes, bytes]
    deleted: TableT[bytes, bytes]
    events: TableT[bytes, bytes]

    @classmethod
    def declare(cls, app: faust.App, *, partitions: int) -> WorkerTables:
        """Register the tables on ``app``, with as many partitions as the raw topic."""

        def table(name: str, help_: str) -> TableT[bytes, bytes]:
            # bytes as key and value type is what makes Faust use the raw codec, recovery
            # included (a Schema with raw serializers is ignored there: recovery would
            # read every changelog record as JSON and drop it; docs/decisions/0013).
            table = DistrictTable(
                app, name=name, default=None, key_type=bytes, value_type=bytes,
                partitions=partitions, help=help_, beacon=app.tables.beacon,
            )  # fmt: skip
            app.tables.add(table)
            return table

        return cls(
            contacts=table(CONTACTS, "Each contact's IDs and student relationships."),
            students=table(STUDENTS, "Each student: exists, last sync, the contacts listing it."),
            grants=table(GRANTS, "Each contact's live pairs, for the state topic."),
            districts=table(DISTRICTS, "Each district's progress through the raw stream."),
            deleted=table(DELETED, "Recently deleted contacts a re-created one may replace."),
            events=table(EVENTS, "The Clever events applied, for 31 days of event time."),
        )

    def by_name(self) -> dict[str, TableT[bytes, bytes]]:
        """The tables by their names in ``streams.state.tables``."""
        return {
            CONTACTS: self.contacts,
            STUDENTS: self.students,
            GRANTS: self.grants,
            DISTRICTS: self.districts,
            DELETED: self.deleted,
            EVENTS: self.events,
        }


class FaustBacking:
    """The Faust tables as the partition transaction's ``TableBacking``.

    Faust keeps its tables committed (or not) on its own terms: a write set here is sent to
    the table's changelog in the transaction of the record being processed, and Faust
    tracks the changelog offsets itself, so ``changelog_offset`` is not ours to keep.
    """

    def __init__(self, tables: WorkerTables) -> None:
        self._tables = tables.by_name()

    def get(self, table: str, key: bytes) -> bytes | None:
        value: bytes | None = self._tables[table].get(key)
        return value

    def keys(self, table: str, prefix: bytes) -> Iterator[bytes]:
        # A list first: the caller may write to the table while it walks the keys.
        return iter([key for key in self._tables[table] if key.startswith(prefix)])

    def apply(self, writes: Writes, *, changelog_offset: int) -> None:
        for (table, key), value in writes.items():
            if value is None:
                self._tables[table].pop(key, None)
            else:
                self._tables[table][key] = value

    @property
    def changelog_offset(self) -> int:
        return 0

    def close(self) -> None:
        """Faust closes its tables itself."""
