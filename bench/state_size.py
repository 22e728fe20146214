"""What a district's state costs to keep, table by table: the bytes the worker's tables hold
(and its changelog carries, once compacted) after the throughput workload.

The records go through the worker's own record handler into one partition's tables, the
engine's in-memory backing, exactly as they would on the broker; then each table's keys and
values are summed per district. The ``events`` table is the memory of applied Clever event
IDs (``streams.processor.events``): its bytes per ID, times a district's contact and student
events in 31 days, is what that memory costs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.pipeline_workload import RawEvent
from schemas.codec import default_codec
from streams.processor import WINDOW_DAYS
from streams.processor.handler import RecordHandler
from streams.state.backing import MemoryBacking
from streams.state.tables import TABLE_NAMES, TableFormat
from streams.state.transaction import PartitionTransaction
from streams.topics import OutputTopics

#: Keys of these tables are ``district/<id>``; of the others, the district ID alone.
_SEPARATOR = b"/"
#: Contact and student events a day of a busy district, for the projection.
BUSY_EVENTS_PER_DAY = 1_000


@dataclass(frozen=True, kw_only=True)
class TableCost:
    """One table's keys and bytes (keys and values) per district: median and largest."""

    table: str
    keys: float
    median_bytes: float
    max_bytes: int


@dataclass(frozen=True, kw_only=True)
class StateFigures:
    """Every table's cost per district, after ``records`` raw records of ``districts``."""

    records: int
    districts: int
    tables: tuple[TableCost, ...]
    #: Bytes of one remembered event ID (key and value), on average.
    bytes_per_event_id: float

    @property
    def busy_event_memory_bytes(self) -> float:
        """The event-ID memory of a district with ``BUSY_EVENTS_PER_DAY`` for 31 days."""
        return self.bytes_per_event_id * BUSY_EVENTS_PER_DAY * WINDOW_DAYS


def measure_state(events: list[RawEvent]) -> StateFigures:
    """Apply ``events`` to one partition's tables and weigh them per district."""
    backing = MemoryBacking()
    codec = default_codec()
    store = PartitionTransaction(backing, table_format=TableFormat(codec))
    start = datetime(2026, 1, 5, tzinfo=UTC)
    handler = RecordHandler(topics=OutputTopics.of("bench"), codec=codec, clock=lambda: start)
    for offset, event in enumerate(events):
        handler.handle(partition=0, offset=offset, key=event.key, value=event.value, store=store)
    store.prepare()
    store.commit(len(events))
    districts = sorted({event.district_id for event in events})
    costs = []
    event_ids = event_bytes = 0
    for table in TABLE_NAMES:
        keys: dict[str, int] = defaultdict(int)
        size: dict[str, int] = defaultdict(int)
        for key in backing.keys(table, b""):
            value = backing.get(table, key) or b""
            district = key.split(_SEPARATOR, 1)[0].decode("utf-8")
            keys[district] += 1
            size[district] += len(key) + len(value)
            if table == "events":
                event_ids += 1
                event_bytes += len(key) + len(value)
        costs.append(
            TableCost(
                table=table,
                keys=statistics.median(keys.get(d, 0) for d in districts),
                median_bytes=statistics.median(size.get(d, 0) for d in districts),
                max_bytes=max((size.get(d, 0) for d in districts), default=0),
            )
        )
    return StateFigures(
        records=len(events),
        districts=len(districts),
        tables=tuple(costs),
        bytes_per_event_id=event_bytes / event_ids if event_ids else 0.0,
    )
