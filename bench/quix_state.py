"""The worker's tables in Quix Streams' state: a ``TableBacking`` over one record's ``State``.

The Quix Streams peer (``bench.peer_quix``) runs the worker's own ``RecordHandler`` over a
``PartitionTransaction`` whose committed tables are Quix's RocksDB state: each record's
writes go into the ``State`` Quix hands the record (scoped to its key, the district), in
Quix's checkpoint transaction, which writes them to its changelog and commits them with
the outputs and the consumed offsets, exactly once. Values are the tables' own bytes
(``streams.state.tables``), through ``get_bytes``/``set_bytes``, so both sides store the
same bytes.

Quix's ``State`` has no way to list keys, which the processor needs (a sync's end lists a
district's contacts and students; the daily expiry, its remembered event IDs). Keeping
an index in the state would rewrite a district's whole list on each new key, so the list
is read as Quix's own windowed state reads ranges: the RocksDB partition's keys under a
prefix, merged with the checkpoint's uncommitted writes. That reaches into four private
attributes of Quix Streams 3.28 (pinned), named in ``QuixInternals``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from streams.state.backing import Writes

#: Between a table's name and its key, in a state key: ``contacts:<district>/<contact>``.
_TABLE_SEPARATOR = b":"
#: Between a Quix state's prefix (the message key) and a key, as Quix joins them.
_QUIX_SEPARATOR = b"|"


class RecordState(Protocol):
    """What the backing uses of Quix's ``State``: bytes in, bytes out."""

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None: ...

    def set_bytes(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


class QuixInternals(Protocol):
    """The private parts of Quix Streams 3.28 a range read needs: the state's message-key
    prefix, and its transaction's RocksDB partition and write cache (as
    ``quixstreams.state.rocksdb.transaction``'s ``_get_items`` reads them)."""

    def prefix(self, state: RecordState) -> bytes:
        """The serialized message key every key of ``state`` starts with."""
        ...

    def stored_keys(self, state: RecordState, lower: bytes, upper: bytes) -> Iterator[bytes]:
        """The partition's committed keys in [``lower``, ``upper``)."""
        ...

    def updated(self, state: RecordState) -> Mapping[bytes, bytes]:
        """The checkpoint's uncommitted writes under ``state``'s prefix, by full key."""
        ...

    def deleted(self, state: RecordState) -> set[bytes]:
        """The checkpoint's uncommitted deletions, by full key."""
        ...


def state_key(table: str, key: bytes) -> bytes:
    """The key in a record's ``State`` of ``key`` in ``table``."""
    return table.encode("ascii") + _TABLE_SEPARATOR + key


class QuixBacking:
    """A ``TableBacking`` over the ``State`` of the record being processed.

    ``state`` is set before each record: Quix scopes a ``State`` to the record's key and
    checkpoint. Committed here means written to that state, which Quix commits with the
    checkpoint; the changelog offset is Quix's business, so it is not kept.
    """

    def __init__(self, internals: QuixInternals) -> None:
        self._internals = internals
        self.state: RecordState | None = None

    def _current(self) -> RecordState:
        if self.state is None:
            raise RuntimeError("no record's state: set QuixBacking.state before processing")
        return self.state

    def get(self, table: str, key: bytes) -> bytes | None:
        return self._current().get_bytes(state_key(table, key))

    def keys(self, table: str, prefix: bytes) -> Iterator[bytes]:
        state = self._current()
        internals = self._internals
        start = internals.prefix(state) + _QUIX_SEPARATOR + state_key(table, prefix)
        end = successor(start)
        deleted = internals.deleted(state)
        found = {key for key in internals.stored_keys(state, start, end) if key not in deleted}
        found.update(key for key in internals.updated(state) if start <= key < end)
        skip = len(start) - len(prefix)
        return iter([key[skip:] for key in sorted(found)])

    def apply(self, writes: Writes, *, changelog_offset: int) -> None:
        del changelog_offset  # Quix keeps its own with the checkpoint
        state = self._current()
        for (table, key), value in writes.items():
            if value is None:
                state.delete(state_key(table, key))
            else:
                state.set_bytes(state_key(table, key), value)

    @property
    def changelog_offset(self) -> int:
        return 0

    def close(self) -> None:
        self.state = None


def successor(prefix: bytes) -> bytes:
    """The first key after every key that starts with ``prefix`` (an exclusive bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        raise ValueError("no key follows a prefix of 0xff bytes alone")
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
