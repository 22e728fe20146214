"""State bytes per contact: a district's initial sync in the worker's tables, in memory and in
RocksDB.

One district of ``contacts`` contacts (and its students, as the fake Clever makes them) goes
through the worker's own record handler into one partition's tables, as ``users.created``
raw records; its committed writes are then held three ways:

- **encoded**: the tables' keys and values, as the changelog carries them (compacted);
- **in memory**: the Python heap the memory backing (the default store) keeps for them,
  measured with ``tracemalloc`` (dicts, keys and values);
- **in RocksDB**: the same writes in the native engine's RocksDB backing, flushed and
  compacted: the SST files' bytes.

Each over the contacts: what a contact (with its share of students, grants, event IDs and
the district's bookkeeping) costs.
"""

from __future__ import annotations

import gc
import tempfile
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rocksdict import AccessType, Options, Rdict

from bench.pipeline_workload import initial_events, latency_districts
from schemas.codec import default_codec
from streams.engines.native.rocksdb import RocksDBBacking
from streams.processor.handler import RecordHandler
from streams.state.backing import MemoryBacking, Writes
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction
from streams.topics import OutputTopics


@dataclass(frozen=True, kw_only=True)
class ContactStateFigures:
    """What one district's state costs, per contact."""

    contacts: int
    records: int
    keys: int
    encoded_bytes: int
    memory_bytes: int
    rocksdb_bytes: int

    def per_contact(self, total: int) -> float:
        """``total`` bytes over the district's contacts."""
        return total / self.contacts


def measure_state_per_contact(contacts: int, *, seed: int = 31) -> ContactStateFigures:
    """A district of ``contacts`` contacts through the handler, its state weighed three ways."""
    [district] = latency_districts(1, contacts=contacts, seed=seed)
    events = initial_events(district)
    writes = _committed_writes(events_values=[(event.key, event.value) for event in events])
    encoded = sum(len(key) + len(value or b"") for (_, key), value in writes.items())
    return ContactStateFigures(
        contacts=contacts,
        records=len(events),
        keys=len(writes),
        encoded_bytes=encoded,
        memory_bytes=_memory_bytes(writes),
        rocksdb_bytes=_rocksdb_bytes(writes),
    )


def _committed_writes(*, events_values: list[tuple[bytes, bytes]]) -> Writes:
    """The tables' writes once every record is applied and committed."""
    codec = default_codec()
    store = PartitionTransaction(MemoryBacking(), table_format=TableFormat(codec))
    start = datetime(2026, 1, 5, tzinfo=UTC)
    handler = RecordHandler(topics=OutputTopics.of("bench"), codec=codec, clock=lambda: start)
    for offset, (key, value) in enumerate(events_values):
        handler.handle(partition=0, offset=offset, key=key, value=value, store=store)
    return {entry: value for entry, value in store.prepare().items() if value is not None}


def _memory_bytes(writes: Writes) -> int:
    """The heap a memory backing holding ``writes`` keeps: its dicts, and keys and values of
    its own (copied inside the measurement, as a restore makes them from the changelog)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        backing = MemoryBacking()
        fresh = {
            (table, bytes(bytearray(key))): None if value is None else bytes(bytearray(value))
            for (table, key), value in writes.items()
        }
        backing.apply(fresh, changelog_offset=1)
        del fresh
        gc.collect()
        held: int = tracemalloc.get_traced_memory()[0] - before
        backing.close()
    finally:
        tracemalloc.stop()
    return held


def _rocksdb_bytes(writes: Writes) -> int:
    """The SST bytes of ``writes`` in the native engine's RocksDB backing, compacted."""
    with tempfile.TemporaryDirectory(prefix="clever-stream-state-") as folder:
        path = Path(folder) / "tables"
        backing = RocksDBBacking.open(path)
        try:
            backing.apply(writes, changelog_offset=1)
        finally:
            backing.close()
        options = Options(raw_mode=True)
        db = Rdict(str(path), options=options, access_type=AccessType.read_write())
        try:
            db.flush()
            db.compact_range(None, None)
        finally:
            db.close()
        return sum(file.stat().st_size for file in path.glob("*.sst"))
