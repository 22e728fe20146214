"""The writers' micro-benchmark: its samples are the workload's records, and every row runs."""

from __future__ import annotations

from rich.console import Console

from bench.writers import collect_samples, run_writer_bench, writer_table


def test_every_comparison_runs_on_the_workloads_records() -> None:
    samples = collect_samples(300, districts=1)
    for kind in ("changes", "states", "contacts", "students", "grants", "districts"):
        assert getattr(samples, kind), kind

    comparisons = run_writer_bench(samples, repeat=2, rounds=1)

    subjects = [row.subject for row in comparisons]
    assert "PrivilegeChange" in subjects
    assert "grants read" in subjects
    assert all(row.count and row.speedup > 0 for row in comparisons)
    console = Console(width=200, record=True)
    console.print(writer_table(comparisons, events=300, repeat=2))
    assert "speed-up" in console.export_text()
