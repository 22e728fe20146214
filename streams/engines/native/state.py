"""One raw partition's tables: what its last committed transaction left, and what is pending.

The engine never lets an uncommitted write reach the committed state. A record's writes go
to ``pending`` (read back through it while the transaction is open); only once Kafka has
committed the transaction that carries them (with the changelog records and the consumed
offsets) are they applied to the ``TableBacking``, in one step with the changelog offset
they reach. An aborted or failed transaction just drops ``pending``. So the backing always
holds a committed state, in memory or on disk, and the query views read only that.

That is what Faust's stores could not promise under exactly-once (``docs/architecture.md``):
its tables took every write at once, aborted transactions included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Final, Protocol

from streams.state.tables import (
    CONTACTS,
    DELETED,
    DISTRICTS,
    EVENTS,
    GRANTS,
    STUDENTS,
    TABLE_NAMES,
)

#: (table, key) -> the value, None deleting it.
Writes = Mapping[tuple[str, bytes], bytes | None]


class TableBacking(Protocol):
    """Where a partition's committed tables are kept (memory, or RocksDB files)."""

    def get(self, table: str, key: bytes) -> bytes | None:
        """The committed value of ``key`` in ``table``."""
        ...

    def keys(self, table: str, prefix: bytes) -> Iterator[bytes]:
        """The committed keys of ``table`` that start with ``prefix``."""
        ...

    def apply(self, writes: Writes, *, changelog_offset: int) -> None:
        """Apply committed ``writes`` at once, with the changelog offset they bring us to."""
        ...

    @property
    def changelog_offset(self) -> int:
        """The changelog offset to read on from: every record before it is applied."""
        ...

    def close(self) -> None:
        """Release files and memory; the backing is not used again."""
        ...


class MemoryBacking:
    """Committed tables in dictionaries: rebuilt from the changelog on every start."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLE_NAMES}
        self._changelog_offset = 0

    def get(self, table: str, key: bytes) -> bytes | None:
        return self._tables[table].get(key)

    def keys(self, table: str, prefix: bytes) -> Iterator[bytes]:
        return iter([key for key in self._tables[table] if key.startswith(prefix)])

    def apply(self, writes: Writes, *, changelog_offset: int) -> None:
        tables = self._tables
        for (table, key), value in writes.items():
            if value is None:
                tables[table].pop(key, None)
            else:
                tables[table][key] = value
        self._changelog_offset = max(self._changelog_offset, changelog_offset)

    @property
    def changelog_offset(self) -> int:
        return self._changelog_offset

    def close(self) -> None:
        for table in self._tables.values():
            table.clear()


class TableView(MutableMapping[bytes, bytes]):
    """One table of a partition as the processor's store sees it.

    With ``pending``, reads see the open transaction's writes first and writes go there;
    without it the view is read-only, over the committed state (the query views).
    """

    def __init__(
        self,
        backing: TableBacking,
        name: str,
        pending: dict[tuple[str, bytes], bytes | None] | None,
        unsent: dict[tuple[str, bytes], bytes | None] | None = None,
    ) -> None:
        self._backing = backing
        self._name = name
        self._pending = pending
        #: The writes not yet handed to the changelog: a second record of each, see
        #: ``PartitionState.take_unsent``.
        self._unsent = unsent

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        pending = self._pending
        if pending is not None:
            found = pending.get((self._name, key), _ABSENT)
            if found is not _ABSENT:
                return default if found is None else found  # type: ignore[return-value]
        value = self._backing.get(self._name, key)
        return default if value is None else value

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._write(key, value)

    def __delitem__(self, key: bytes) -> None:
        if self.get(key) is None:
            raise KeyError(key)
        self._write(key, None)

    def pop(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        value = self.get(key)
        if value is not None:
            self._write(key, None)
        return default if value is None else value

    def __iter__(self) -> Iterator[bytes]:
        return self.with_prefix(b"")

    def with_prefix(self, prefix: bytes) -> Iterator[bytes]:
        """The keys starting with ``prefix``, pending writes included."""
        found = set(self._backing.keys(self._name, prefix))
        if self._pending is not None:
            for (table, key), value in self._pending.items():
                if table != self._name or not key.startswith(prefix):
                    continue
                if value is None:
                    found.discard(key)
                else:
                    found.add(key)
        return iter(sorted(found))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _write(self, key: bytes, value: bytes | None) -> None:
        if self._pending is None:
            raise TypeError(f"the committed {self._name} table is read-only")
        self._pending[(self._name, key)] = value
        if self._unsent is not None:
            self._unsent[(self._name, key)] = value


_ABSENT: Final = object()


class Tables:
    """The six tables of one partition, as ``TableStore`` reads and writes them."""

    def __init__(
        self,
        backing: TableBacking,
        pending: dict[tuple[str, bytes], bytes | None] | None,
        unsent: dict[tuple[str, bytes], bytes | None] | None = None,
    ) -> None:
        self.contacts = TableView(backing, CONTACTS, pending, unsent)
        self.students = TableView(backing, STUDENTS, pending, unsent)
        self.grants = TableView(backing, GRANTS, pending, unsent)
        self.districts = TableView(backing, DISTRICTS, pending, unsent)
        self.deleted = TableView(backing, DELETED, pending, unsent)
        self.events = TableView(backing, EVENTS, pending, unsent)


class PartitionState:
    """A raw partition's tables: the committed ``backing`` and the open transaction's writes."""

    def __init__(self, partition: int, backing: TableBacking) -> None:
        self.partition = partition
        self.backing = backing
        self._pending: dict[tuple[str, bytes], bytes | None] = {}
        self._unsent: dict[tuple[str, bytes], bytes | None] = {}
        #: Read and written by the processor during a transaction.
        self.tables = Tables(backing, self._pending, self._unsent)
        #: The committed state alone, for the query views.
        self.committed = Tables(backing, None)

    def pending_writes(self) -> Writes:
        """The open transaction's writes: one per key, the last."""
        return self._pending

    def take_unsent(self) -> Writes:
        """The writes made since the last call (one per key, the last), for the changelog.

        The engine hands a transaction's changelog records to the producer as its records
        are processed, not all at commit, so the commit waits on less; a key written again
        later in the transaction is sent again, and the changelog's order keeps the last.
        """
        unsent = dict(self._unsent)
        self._unsent.clear()
        return unsent

    def committed_at(self, changelog_offset: int) -> None:
        """The transaction committed: its writes become the committed state."""
        self.backing.apply(self._pending, changelog_offset=changelog_offset)
        self._pending.clear()
        self._unsent.clear()

    def discard_pending(self) -> None:
        """The transaction was aborted (or never will commit): forget its writes."""
        self._pending.clear()
        self._unsent.clear()

    def close(self) -> None:
        self._pending.clear()
        self._unsent.clear()
        self.backing.close()
