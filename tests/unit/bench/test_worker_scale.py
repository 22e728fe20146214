"""The fleet-scale benchmark's pure parts: memory per district, its growth per district added,
and the table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from bench.worker_scale import (
    WorkerScaleFigures,
    folder_bytes,
    growth_per_district_kib,
    per_district_kib,
    worker_scale_table,
)

_MIB = 1024


def _figures(store: str, districts: int, *, restarted_mib: int) -> WorkerScaleFigures:
    return WorkerScaleFigures(
        store=store,
        districts=districts,
        records=7 * districts,
        partitions=6,
        baseline_kib=60 * _MIB,
        processed_kib=(restarted_mib + 10) * _MIB,
        peak_kib=(restarted_mib + 12) * _MIB,
        restarted_kib=restarted_mib * _MIB,
        rebuilt_kib=restarted_mib * _MIB,
        disk_bytes=0 if store == "memory://" else 12 * 1024 * 1024,
        process_s=10.0,
        rebuild_s=1.5,
        partition_records=districts * 3,
        partition_restore_s=0.25,
    )


FIGURES = [
    _figures("memory://", 1_000, restarted_mib=77),
    _figures("memory://", 10_000, restarted_mib=230),
    _figures("rocksdb://", 1_000, restarted_mib=70),
    _figures("rocksdb://", 10_000, restarted_mib=71),
]


@pytest.mark.parametrize(
    ("rss", "districts", "expected"),
    [(70 * _MIB, 1_000, 10.24), (60 * _MIB, 1_000, 0.0), (61 * _MIB, 0, 0.0)],
    ids=["above-baseline", "at-baseline", "no-districts"],
)
def test_memory_per_district_is_beyond_the_baseline(
    rss: int, districts: int, expected: float
) -> None:
    assert per_district_kib(rss, 60 * _MIB, districts) == pytest.approx(expected)


def test_a_row_knows_its_memory_per_district() -> None:
    row = FIGURES[1]

    assert row.restarted_per_district_kib == pytest.approx(170 * _MIB / 10_000)
    assert row.processed_per_district_kib == pytest.approx(180 * _MIB / 10_000)


def test_growth_is_per_district_added_since_the_stores_smaller_count() -> None:
    shuffled = [FIGURES[3], FIGURES[1], FIGURES[0], FIGURES[2]]

    growth = growth_per_district_kib(shuffled)

    assert set(growth) == {("memory://", 10_000), ("rocksdb://", 10_000)}
    assert growth["memory://", 10_000] == pytest.approx(153 * _MIB / 9_000)
    assert growth["rocksdb://", 10_000] == pytest.approx(_MIB / 9_000)


def test_a_count_measured_twice_adds_no_growth() -> None:
    assert growth_per_district_kib([FIGURES[0], replace(FIGURES[0], restarted_kib=1)]) == {}


def test_the_table_has_a_row_per_store_and_count() -> None:
    console = Console(width=300, record=True)
    console.print(worker_scale_table(FIGURES))
    rows = [
        line.split()
        for line in console.export_text().splitlines()
        if line.strip().startswith(("memory://", "rocksdb://"))
    ]

    assert [(row[0], row[1]) for row in rows] == [
        ("memory://", "1,000"),
        ("memory://", "10,000"),
        ("rocksdb://", "1,000"),
        ("rocksdb://", "10,000"),
    ]
    # records, base, processed, peak, KiB/district, restarted, KiB/district, +KiB/added...
    assert rows[1][2:10] == ["70,000", "60", "240", "242", "18.4", "230", "17.4", "17.4"]
    assert rows[3][9] == "0.1"
    # ...rebuilt MiB, disk MiB, rebuild s, one partition s, its records.
    assert rows[3][-5:] == ["71", "12.0", "1.5", "0.25", "30,000"]
    assert len(rows[0]) == len(rows[1]) - 1  # the smallest count has no growth


def test_an_empty_run_still_makes_a_table() -> None:
    assert worker_scale_table([]).row_count == 0


def test_folder_bytes_counts_every_file_below(tmp_path: Path) -> None:
    (tmp_path / "raw-0").mkdir()
    (tmp_path / "raw-0" / "000001.sst").write_bytes(b"x" * 100)
    (tmp_path / "LOCK").write_bytes(b"")
    (tmp_path / "CURRENT").write_bytes(b"y" * 16)

    assert folder_bytes(tmp_path) == 116
    assert folder_bytes(tmp_path / "missing") == 0
