"""The pipeline benchmark's pure parts: its records (filed as the poller files them, each timed
one a change), and how it counts committed records and latency percentiles."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from bench.pipeline_kafka import TopicRecords
from bench.pipeline_latency import Timings, percentile
from bench.pipeline_workload import (
    initial_events,
    latency_districts,
    pages,
    privilege_moves,
    throughput_events,
)
from schemas.codec import default_codec
from schemas.keys import district_key
from schemas.records import RawCleverRecord
from schemas.values import RawRecordKind
from streams.processor.process import Position, process_bytes
from streams.processor.store import MemoryStore

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_throughput_records_are_v3_user_events_keyed_by_their_district() -> None:
    events = throughput_events(600, districts=3)

    assert len(events) == 600
    codec = default_codec()
    for event in events:
        record = codec.decode(event.value, RawCleverRecord)
        assert event.key == district_key(record.district_id)
        assert record.kind == RawRecordKind.EVENT
        assert record.api_version == "v3.0"
        assert record.event_id == event.event_id
        assert (record.event_type or "").startswith("users.")
    assert len({event.event_id for event in events}) == len(events)


def test_every_timed_change_moves_a_privilege_caused_by_its_own_event() -> None:
    districts = latency_districts(3, contacts=20)
    preload = [event for district in districts for event in initial_events(district)]
    moves = privilege_moves(districts, 300)
    store = MemoryStore()

    for offset, event in enumerate(preload):
        at = Position(0, offset)
        process_bytes(event.value, key=event.key, position=at, store=store, now=NOW)
    causes = []
    for offset, event in enumerate(moves, start=len(preload)):
        outputs = process_bytes(
            event.value, key=event.key, position=Position(0, offset), store=store, now=NOW
        )
        causes.append({change.cause.clever_event_id for change in outputs.changes})

    assert causes == [{event.event_id} for event in moves]


def test_pages_hold_one_district_each_and_keep_its_order() -> None:
    events = throughput_events(90, districts=3)

    found = list(pages(events, 20))

    assert all(len(page) <= 20 and len({e.district_id for e in page}) == 1 for page in found)
    assert sorted(e.event_id for page in found for e in page) == sorted(e.event_id for e in events)
    for district in {event.district_id for event in events}:
        paged = [e.event_id for page in found for e in page if e.district_id == district]
        assert paged == [e.event_id for e in events if e.district_id == district]


def test_committed_offsets_count_records_not_transaction_markers() -> None:
    # Partition 0: records at 0-2, a marker at 3, records at 4-5; partition 1 is empty.
    records = TopicRecords({0: [0, 1, 2, 4, 5], 1: []})

    assert records.total == 5
    assert records.below({}) == 0
    assert records.below({0: 4}) == 3
    assert not records.all_below({0: 5})
    assert records.all_below({0: 6})


@pytest.mark.parametrize(("q", "expected"), [(50, 5.0), (99, 10.0), (100, 10.0), (1, 1.0)], ids=str)
def test_percentiles_are_nearest_rank(q: float, expected: float) -> None:
    assert percentile([float(n) for n in range(1, 11)], q) == expected


def test_a_change_never_seen_counts_as_the_slowest_not_as_missing_data() -> None:
    timings = Timings(
        sent={"e1": 10.0, "e2": 10.5, "e3": 11.0},
        acked={"e1": 10.01, "e2": 10.51, "e3": 11.01},
        seen={"e1": 10.2, "e2": 10.6},
        window_s=1.0,
        drain_s=5.0,
    )

    latencies = timings.latencies_ms(since=lambda t: t.sent)

    assert latencies[:2] == pytest.approx([100.0, 200.0])
    assert math.isinf(latencies[2])
    assert percentile(latencies, 50) == pytest.approx(200.0)
    assert timings.missing == 1
