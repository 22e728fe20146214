"""How often a partition transaction prepares and commits changes nothing but when values
are encoded.

Raw records of the pipeline benchmark's workload (creations, updates, relationship moves,
deletions, repeats) go through the processor over a transaction committed after every
record, and over one prepared every few records and committed at the end (or prepared once).
The outputs and the tables' final bytes must be the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bench.pipeline_workload import throughput_events
from schemas.codec import default_codec
from schemas.records import ContactSnapshot
from streams.processor.encoding import decode_grants, encode_grants
from streams.processor.process import Outputs, Position, process_bytes
from streams.state.backing import MemoryBacking
from streams.state.tables import TABLE_NAMES, TableFormat
from streams.state.transaction import PartitionTransaction
from tests.unit.streams.processor.builders import raw_sync_completed, raw_sync_started

CODEC = default_codec()
NOW = datetime(2026, 12, 1, tzinfo=UTC)
EVENTS = throughput_events(900, districts=3, seed=7)


def run(store: PartitionTransaction, prepare_every: int | None) -> list[Outputs]:
    """The outputs of the workload; ``prepare_every`` 1 commits after every record."""
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
        if prepare_every == 1:
            store.prepare()
            store.commit(offset + 1)
        elif prepare_every and offset % prepare_every == 0:
            store.prepare()
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
    store.prepare()
    store.commit(len(EVENTS) + 2)
    return found


def transaction() -> tuple[PartitionTransaction, MemoryBacking]:
    backing = MemoryBacking()
    return PartitionTransaction(backing, table_format=TableFormat(CODEC)), backing


@pytest.mark.parametrize("prepare_every", [7, 250, None])
def test_the_outputs_and_tables_equal_those_of_a_commit_per_record(
    prepare_every: int | None,
) -> None:
    each_store, each_backing = transaction()
    each = run(each_store, 1)
    batched_store, batched_backing = transaction()
    batched = run(batched_store, prepare_every)

    assert batched == each
    assert sum(len(o.changes) for o in each) > 500, "the workload moved privileges"
    assert any(o.changes and o.changes[0].cause.sync_id for o in each), "the sync revoked"
    assert contents(batched_backing) == contents(each_backing)


def test_the_tables_hold_the_codecs_bytes() -> None:
    # The fast writers' bytes: what the codec and encode_grants write of what a restore reads.
    store, backing = transaction()
    run(store, 7)
    tables = contents(backing)
    assert tables["contacts"], "the workload wrote contacts"
    for value in tables["contacts"].values():
        assert CODEC.encode(CODEC.decode(value, ContactSnapshot)) == value
    assert tables["grants"], "the workload wrote grants"
    for value in tables["grants"].values():
        assert encode_grants(decode_grants(value)) == value


def contents(backing: MemoryBacking) -> dict[str, dict[bytes, bytes]]:
    """What the committed tables hold."""
    return {
        name: {key: backing.get(name, key) or b"" for key in backing.keys(name, b"")}
        for name in TABLE_NAMES
    }


def test_abort_drops_what_was_not_committed() -> None:
    store, backing = transaction()
    raw = EVENTS[0]
    process_bytes(raw.value, key=raw.key, position=Position(0, 0), store=store, now=NOW)
    assert store.get_district(raw.district_id) is not None
    store.prepare()
    store.abort()
    assert store.get_district(raw.district_id) is None
    assert contents(backing) == {name: {} for name in TABLE_NAMES}
