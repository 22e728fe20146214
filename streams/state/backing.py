"""Where a partition's committed tables are kept: the ``TableBacking`` interface, in memory.

A backing holds committed state only: a ``PartitionTransaction`` applies its writes to it
once Kafka has committed the transaction that carries them, in one step with the changelog
offset they bring the partition to, and a restore applies the changelog's committed records
the same way. The query views read a backing directly. ``MemoryBacking`` is rebuilt from the
changelog on every start; ``streams.engines.native.rocksdb`` keeps one in files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from streams.state.tables import TABLE_NAMES

#: (table, key) -> the value, None deleting it.
Writes = Mapping[tuple[str, bytes], bytes | None]


class TableBacking(Protocol):
    """A partition's committed tables, bytes keyed by bytes."""

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
