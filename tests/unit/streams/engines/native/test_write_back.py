"""The write-back store changes nothing but when values are encoded.

Raw records of the pipeline benchmark's workload (creations, updates, relationship moves,
deletions, repeats) go through the processor twice: once over a ``TableStore`` writing
every value at once, once over a ``WriteBackStore`` flushed every few records. The outputs
and the tables' final bytes must be the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bench.pipeline_workload import throughput_events
from schemas.codec import default_codec
from schemas.records import ContactSnapshot
from streams.engines.native.state import MemoryBacking, PartitionState
from streams.engines.native.write_back import WriteBackStore
from streams.processor.encoding import decode_grants, encode_grants
from streams.processor.process import Outputs, Position, process_bytes
from streams.processor.store import StateStore
from streams.state.tables import TableStore
from tests.unit.streams.processor.builders import raw_sync_completed, raw_sync_started

CODEC = default_codec()
NOW = datetime(2026, 12, 1, tzinfo=UTC)
EVENTS = throughput_events(900, districts=3, seed=7)


def run(store: StateStore, state: PartitionState, flush_every: int | None) -> list[Outputs]:
    found = []
    for offset, raw in enumerate(EVENTS):
        found.append(
            process_bytes(
                raw.value,
                key=raw.key,
                position=Position(0, offset),
                store=store,
                now=NOW,
                codec=CODEC,
            )
        )
        if isinstance(store, WriteBackStore) and flush_every and offset % flush_every == 0:
            store.flush()
    # A sync that sees no contact at all revokes every pair: contact_ids reads the tables.
    district = EVENTS[0].district_id
    for offset, record in enumerate(
        (raw_sync_started("sync-1"), raw_sync_completed("sync-1")), start=len(EVENTS)
    ):
        record = replace(record, district_id=district)
        found.append(
            process_bytes(
                CODEC.encode(record),
                key=EVENTS[0].key,
                position=Position(0, offset),
                store=store,
                now=NOW,
                codec=CODEC,
            )
        )
    if isinstance(store, WriteBackStore):
        store.flush()
    return found


@pytest.mark.parametrize("flush_every", [1, 7, 250, None])
def test_the_outputs_and_tables_equal_those_of_the_table_store(flush_every: int | None) -> None:
    direct_state = PartitionState(0, MemoryBacking())
    direct = run(TableStore(direct_state.tables, codec=CODEC), direct_state, None)
    deferred_state = PartitionState(0, MemoryBacking())
    store = WriteBackStore(TableStore(deferred_state.tables, codec=CODEC))
    deferred = run(store, deferred_state, flush_every)

    assert deferred == direct
    assert sum(len(o.changes) for o in direct) > 500, "the workload moved privileges"
    assert any(o.changes and o.changes[0].cause.sync_id for o in direct), "the sync revoked"
    # Deferred: a key created and deleted between two flushes is never written at all.
    assert len(deferred_state.pending_writes()) <= len(direct_state.pending_writes())
    assert contents(deferred_state) == contents(direct_state)


def test_the_tables_hold_the_codecs_bytes() -> None:
    # The hand writers' bytes: what the codec and encode_grants write of what a restore reads.
    state = PartitionState(0, MemoryBacking())
    run(WriteBackStore(TableStore(state.tables, codec=CODEC)), state, 7)
    tables = contents(state)
    assert tables["contacts"], "the workload wrote contacts"
    for value in tables["contacts"].values():
        assert CODEC.encode(CODEC.decode(value, ContactSnapshot)) == value
    assert tables["grants"], "the workload wrote grants"
    for value in tables["grants"].values():
        assert encode_grants(decode_grants(value)) == value


def contents(state: PartitionState) -> dict[str, dict[bytes, bytes]]:
    """What the tables hold once the transaction commits."""
    state.committed_at(1)
    tables = state.committed
    return {name: {key: view[key] for key in view} for name, view in vars(tables).items()}


def test_forget_drops_what_was_not_flushed() -> None:
    state = PartitionState(0, MemoryBacking())
    store = WriteBackStore(TableStore(state.tables, codec=CODEC))
    raw = EVENTS[0]
    process_bytes(raw.value, key=raw.key, position=Position(0, 0), store=store, now=NOW)
    assert store.get_district(raw.district_id) is not None
    store.forget()
    assert store.get_district(raw.district_id) is None
    assert not state.pending_writes()
