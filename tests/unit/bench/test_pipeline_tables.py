"""The throughput table: each group's row, and each ratio taken repeat by repeat."""

from __future__ import annotations

from rich.console import Console

from bench.pipeline_config import PipelineBenchConfig
from bench.pipeline_tables import throughput_table
from bench.pipeline_throughput import GroupRun, ThroughputFigures


def _runs(*rates: float) -> tuple[GroupRun, ...]:
    return tuple(
        GroupRun(events=int(rate), seconds=1.0, startup_s=1.0, cpu_s=0.1) for rate in rates
    )


FIGURES = ThroughputFigures(
    events=30_000,
    record_bytes=890.0,
    baseline=_runs(8_000, 10_000, 8_000),
    writer_baseline=_runs(10_000, 12_500, 12_000),
    processor_baseline=_runs(4_000, 5_000, 4_000),
    pipeline=_runs(6_000, 5_000, 4_400),
)


def test_ratios_are_taken_repeat_by_repeat() -> None:
    assert FIGURES.ratios == (0.75, 0.5, 0.55)
    assert FIGURES.writer_ratios == (0.6, 0.4, 4_400 / 12_000)
    assert FIGURES.processor_ratios == (1.5, 1.0, 1.1)
    assert FIGURES.writer_gains == (1.25, 1.25, 1.5)
    assert FIGURES.processor_gains == (0.5, 0.5, 0.5)
    assert FIGURES.processor_writer_ratios == (0.4, 0.4, 4_000 / 12_000)


def test_the_table_has_a_row_per_group_with_its_median_ratios() -> None:
    console = Console(width=250, record=True)
    console.print(throughput_table(FIGURES, PipelineBenchConfig()))
    rows = {
        line.split("  ")[1].strip(): line
        for line in console.export_text().splitlines()
        if line.strip().startswith("(")
    }

    assert set(rows) == {
        "(a) bare aiokafka EOS loop",
        "(a') the same, the worker's writer",
        "(a'') the same, the worker's processor",
        "(b) python -m streams worker",
    }
    worker = rows["(b) python -m streams worker"].split()
    # events/s (median), its range, and vs (a), vs (a'), vs (a'') as median (min-max).
    assert worker[5:7] == ["5,000", "4,400-6,000"]
    assert worker[-6:] == ["0.55", "(0.50-0.75)", "0.40", "(0.37-0.60)", "1.10", "(1.00-1.50)"]
