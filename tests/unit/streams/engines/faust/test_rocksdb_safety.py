"""Which RocksDB table files a worker trusts at start, from what its last run proved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from faust.types import TP

from foundation.connection import KafkaConnection
from foundation.exceptions import KafkaUnavailableError
from streams.engines.faust.app import create_app
from streams.engines.faust.rocksdb_safety import (
    TableFilesGuard,
    guard_table_files,
    partitions_to_discard,
)
from streams.engines.faust.table_files import MARKER
from streams.settings import WorkerSettings

RAW = "p.clever.raw"
KAFKA = KafkaConnection("kafka:9092")
GuardFactory = Callable[..., TableFilesGuard]


def test_partitions_whose_records_all_committed_are_kept() -> None:
    assert (
        partitions_to_discard(taken={0: 41, 1: 7}, committed={0: 42, 1: 8, 2: 3}, lost=frozenset())
        == frozenset()
    )


def test_a_record_taken_past_the_committed_offset_discards_its_partition() -> None:
    # Offset 41 was handed to the agent, and the group's next offset to read is still 41:
    # its table writes may belong to a transaction that never committed.
    assert partitions_to_discard(
        taken={0: 41, 1: 7}, committed={0: 41, 1: 8}, lost=frozenset()
    ) == frozenset({0})


def test_a_partition_without_a_committed_offset_is_discarded() -> None:
    assert partitions_to_discard(taken={2: 0}, committed={}, lost=frozenset()) == {2}


def test_a_partition_lost_mid_run_is_discarded_even_if_another_worker_committed_past_it() -> None:
    assert partitions_to_discard(taken={1: 7}, committed={1: 500}, lost=frozenset({1})) == {1}


def settings(tmp_path: Path, store: str = "rocksdb://") -> WorkerSettings:
    return WorkerSettings(app_id="guard-test", data_dir=tmp_path, store=store)


def test_the_memory_store_needs_no_guard(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, "memory://"), kafka=KAFKA, replication_factor=1)

    assert (
        guard_table_files(app, settings(tmp_path, "memory://"), kafka=KAFKA, source_topic=RAW)
        is None
    )


@pytest.fixture
def make_guard(tmp_path: Path) -> GuardFactory:
    """A guard on a new (never started) app whose group committed ``committed``."""

    def make(committed: dict[int, int] | None = None) -> TableFilesGuard:
        worker_settings = settings(tmp_path)
        app = create_app(worker_settings, kafka=KAFKA, replication_factor=1)
        guard = guard_table_files(app, worker_settings, kafka=KAFKA, source_topic=RAW)
        assert guard is not None

        async def committed_offsets() -> dict[int, int]:
            if committed is None:
                raise KafkaUnavailableError("no broker in a unit test")
            return committed

        guard._committed_offsets = committed_offsets  # type: ignore[method-assign]  # noqa: SLF001 - no broker here: the offsets stubbed
        return guard

    return make


def db(guard: TableFilesGuard, name: str) -> Path:
    path = guard.tabledir / name
    path.mkdir(parents=True)
    return path


def take(guard: TableFilesGuard, partition: int, offset: int) -> None:
    guard.on_stream_event_in(TP(RAW, partition), offset, cast(Any, None), cast(Any, None))


async def test_a_start_after_no_clean_stop_discards_the_files(make_guard: GuardFactory) -> None:
    guard = make_guard()
    files = [db(guard, "contacts-0.db"), db(guard, "contacts-1.db")]

    await guard.on_start()
    try:
        assert not any(path.exists() for path in files)
    finally:
        await guard.on_stop()


async def test_a_clean_stop_keeps_the_files_for_the_next_start(make_guard: GuardFactory) -> None:
    first = make_guard({0: 10, 1: 5})
    await first.on_start()
    files = [db(first, "contacts-0.db"), db(first, "contacts-1.db")]
    first.note_assignment({TP(RAW, 0), TP(RAW, 1)})
    take(first, 0, 9)
    take(first, 1, 4)
    await first.on_stop()
    assert (first.tabledir / MARKER).exists()

    second = make_guard()
    await second.on_start()
    try:
        assert all(path.exists() for path in files)
        assert not (second.tabledir / MARKER).exists(), "a crash from now on leaves no marker"
    finally:
        await second._app.crash(RuntimeError("and this run dies"))  # noqa: SLF001 - the guard's app, crashed as Faust's would be
        await second.on_stop()
    assert not (second.tabledir / MARKER).exists()


async def test_partitions_not_proven_committed_are_discarded_at_the_next_start(
    make_guard: GuardFactory,
) -> None:
    first = make_guard({0: 10, 1: 5, 2: 3})
    await first.on_start()
    files = {p: db(first, f"grants-{p}.db") for p in range(3)}
    first.note_assignment({TP(RAW, 0), TP(RAW, 1), TP(RAW, 2)})
    take(first, 0, 10)  # past the committed offset
    take(first, 1, 4)
    first.note_assignment({TP(RAW, 1)})  # partitions 0 and 2 move to another worker
    await first.on_stop()

    second = make_guard()
    await second.on_start()
    await second.on_stop()
    assert {p for p, path in files.items() if path.exists()} == {1}


async def test_without_the_committed_offsets_no_marker_is_written(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(None)
    await guard.on_start()
    db(guard, "contacts-0.db")

    await guard.on_stop()

    assert not (guard.tabledir / MARKER).exists()


async def test_a_crashed_worker_writes_no_marker(make_guard: GuardFactory) -> None:
    guard = make_guard({})
    await guard.on_start()

    await guard._app.crash(RuntimeError("a crash in the stop path"))  # noqa: SLF001 - the guard's app, crashed as Faust's would be
    await guard.on_stop()

    assert not (guard.tabledir / MARKER).exists()
