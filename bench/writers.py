"""The compiled writers against the codec, and the tables' Avro values against their JSON.

No broker: the pipeline's throughput workload (``bench.pipeline_workload``) goes through the
privilege processor over an in-memory store, and every record it sends or stores is kept.
Then, in one process, each kind of record is written (or read) both ways, the two ways in
turn within each repeat and in alternating order from one repeat to the next, so that drift
hits both alike; figures are the median per-record time and the median of the per-repeat
ratios.

- Contract records: ``codec.encode`` against the compiled writers (``OutputWriter``,
  ``ContactWriter``), on the records as the processor made them (privileges and times
  shared, as in the worker) and on decoded copies (nothing shared, as after a restore).
- Table values: the JSON an earlier version wrote (``json.dumps`` of the same documents)
  against the Avro of ``streams.processor.encoding``, to write and to read (JSON read by the
  same module's decoder of old values).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from rich import box
from rich.table import Table

from bench.json_values import json_grants, json_progress, json_student
from bench.pipeline_workload import throughput_events
from schemas.codec import default_codec
from schemas.records import ContactSnapshot, PrivilegeChange, PrivilegeState
from streams.processor import (
    ContactGrants,
    DistrictProgress,
    MemoryStore,
    Position,
    StudentEntry,
    decode_grants,
    decode_progress,
    decode_student,
    encode_grants,
    encode_progress,
    encode_student,
    process_bytes,
)
from streams.writers.contact_writer import ContactWriter
from streams.writers.output_writer import OutputWriter

_NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Samples:
    """What the processor sent and stored for the workload, as it made them."""

    changes: list[PrivilegeChange]
    states: list[PrivilegeState]
    contacts: list[ContactSnapshot]
    students: list[StudentEntry]
    grants: list[ContactGrants]
    #: The ``districts`` table's values: progress without its recently deleted contacts.
    districts: list[DistrictProgress]
    #: The ``deleted`` table's values: a district's recently deleted contacts alone.
    deleted: list[DistrictProgress]


@dataclass(frozen=True)
class Comparison:
    """One kind of record written or read two ways: microseconds per record, each repeat."""

    subject: str
    baseline: str
    contender: str
    baseline_us: list[float]
    contender_us: list[float]
    #: How many records one pass writes or reads.
    count: int
    #: The mean size of one record's bytes, each way.
    baseline_bytes: float
    contender_bytes: float

    @property
    def speedup(self) -> float:
        """Median over the repeats of baseline time / contender time (above 1: faster)."""
        return statistics.median(
            base / new for base, new in zip(self.baseline_us, self.contender_us, strict=True)
        )


class _RecordingStore(MemoryStore):
    """A ``MemoryStore`` that keeps every value written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[str, list[Any]] = {"contacts": [], "students": [], "grants": []}
        self.progress: list[DistrictProgress] = []

    def put_contact(self, snapshot: ContactSnapshot) -> None:
        self.written["contacts"].append(snapshot)
        super().put_contact(snapshot)

    def put_student(self, entry: StudentEntry) -> None:
        if entry.kept:
            self.written["students"].append(entry)
        super().put_student(entry)

    def put_grants(self, grants: ContactGrants) -> None:
        if grants.grants:
            self.written["grants"].append(grants)
        super().put_grants(grants)

    def put_district(self, progress: DistrictProgress) -> None:
        self.progress.append(progress)
        super().put_district(progress)


def collect_samples(events: int, *, districts: int) -> Samples:
    """The records of ``events`` raw records of the throughput workload."""
    codec = default_codec()
    store = _RecordingStore()
    changes: list[PrivilegeChange] = []
    states: list[PrivilegeState] = []
    for offset, event in enumerate(throughput_events(events, districts=districts)):
        outputs = process_bytes(
            event.value,
            key=event.key,
            position=Position(partition=0, offset=offset),
            store=store,
            now=_NOW,
            codec=codec,
        )
        changes += outputs.changes
        states += [state for _, state in outputs.states if state is not None]
    # The deleted table is written when a district's window changes: once per new window.
    windows: dict[str, tuple[tuple[str, ContactSnapshot], ...]] = {}
    deleted: list[DistrictProgress] = []
    for progress in store.progress:
        window = progress.recently_deleted
        if window and window is not windows.get(progress.district_id):
            windows[progress.district_id] = window
            deleted.append(
                DistrictProgress(district_id=progress.district_id, recently_deleted=window)
            )
    return Samples(
        changes=changes,
        states=states,
        contacts=store.written["contacts"],
        students=store.written["students"],
        grants=store.written["grants"],
        districts=[replace(progress, recently_deleted=()) for progress in store.progress],
        deleted=deleted,
    )


def run_writer_bench(samples: Samples, *, repeat: int, rounds: int) -> list[Comparison]:
    """Every comparison, ``repeat`` times, each pass over the samples ``rounds`` times."""
    codec = default_codec()
    output, contact = OutputWriter(codec), ContactWriter(codec)

    def copies(records: Sequence[Any]) -> list[Any]:
        return [codec.decode(codec.encode(record), type(record)) for record in records]

    jobs: list[tuple[str, str, str, Sequence[Any], Callable[..., bytes], Callable[..., bytes]]]
    jobs = [
        ("PrivilegeChange", "codec", "compiled", samples.changes, codec.encode, output.change),
        ("PrivilegeState", "codec", "compiled", samples.states, codec.encode, output.state),
        ("ContactSnapshot", "codec", "compiled", samples.contacts, codec.encode, contact.contact),
    ]
    jobs += [
        (f"{name} (decoded copies)", "codec", "compiled", copies(records), codec.encode, write)
        for name, _, _, records, _, write in list(jobs)
    ]
    values: list[
        tuple[
            str,
            Sequence[Any],
            Callable[[Any], bytes],
            Callable[[Any], bytes],
            Callable[[bytes], object],
        ]
    ] = [
        ("students", samples.students, json_student, encode_student, _read_student),
        ("grants", samples.grants, json_grants, encode_grants, decode_grants),
        ("districts", samples.districts, json_progress, encode_progress, decode_progress),
        ("deleted", samples.deleted, json_progress, encode_progress, decode_progress),
    ]
    for table, records, old, new, _ in values:
        jobs.append((f"{table} write", "JSON", "Avro", records, old, new))
    # A kind of record the workload did not make (no deleted contact, say) has no row.
    found = [_compare(job, repeat=repeat, rounds=rounds) for job in jobs if job[3]]
    for table, records, old, new, read in values:
        if records:
            found.append(
                _compare(
                    (f"{table} read", "JSON", "Avro", records, old, new),
                    repeat=repeat,
                    rounds=rounds,
                    read=read,
                )
            )
    return found


def _compare(
    job: tuple[str, str, str, Sequence[Any], Callable[..., bytes], Callable[..., bytes]],
    *,
    repeat: int,
    rounds: int,
    read: Callable[[bytes], object] | None = None,
) -> Comparison:
    """Time both ways of ``job``; with ``read``, time reading what each way wrote."""
    subject, baseline, contender, records, old, new = job
    old_bytes = [old(record) for record in records]
    new_bytes = [new(record) for record in records]
    work: list[tuple[Callable[[Any], object], Sequence[Any]]]
    if read is None:
        work = [(old, records), (new, records)]
    else:
        work = [(read, old_bytes), (read, new_bytes)]
    times: list[list[float]] = [[], []]
    for n in range(repeat):
        order = (0, 1) if n % 2 == 0 else (1, 0)
        for side in order:
            function, inputs = work[side]
            times[side].append(_per_record_us(function, inputs, rounds))
    return Comparison(
        subject=subject,
        baseline=baseline,
        contender=contender,
        baseline_us=times[0],
        contender_us=times[1],
        count=len(records),
        baseline_bytes=statistics.fmean(map(len, old_bytes)),
        contender_bytes=statistics.fmean(map(len, new_bytes)),
    )


def _per_record_us(function: Callable[[Any], object], inputs: Sequence[Any], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for item in inputs:
            function(item)
    return (time.perf_counter() - started) / (rounds * len(inputs)) * 1e6


def writer_table(comparisons: list[Comparison], *, events: int, repeat: int) -> Table:
    """One row per comparison: both ways' median microseconds per record, and the ratio."""
    table = Table(
        title=f"Writers and table values: us per record, median of {repeat} alternating repeats",
        caption=f"records of {events:,} raw records of the throughput workload, no broker; "
        "speed-up: median of per-repeat ratios (above 1: the contender is faster). "
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"fastavro {version('fastavro')}",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("records", "count", "baseline", "us", "contender", "us", "speed-up", "bytes"):
        table.add_column(heading, justify="left" if heading in ("records",) else "right")
    for row in comparisons:
        table.add_row(
            row.subject,
            f"{row.count:,}",
            row.baseline,
            f"{statistics.median(row.baseline_us):.2f}",
            row.contender,
            f"{statistics.median(row.contender_us):.2f}",
            f"{row.speedup:.2f}",
            f"{row.baseline_bytes:.0f} / {row.contender_bytes:.0f}",
        )
    return table


def _read_student(data: bytes) -> StudentEntry:
    return decode_student("district", "student", data)


# The JSON the tables held before (``json.dumps`` of these documents): the baseline.
