"""The report's pictures: throughput beside the peers and the broker's ceiling, and latency's
percentiles by rate.

matplotlib's object API (``Figure`` without pyplot): no global state and no display, a PNG
drawn by the Agg renderer."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from matplotlib.figure import Figure

from bench.kafka_perf import CeilingFigures
from bench.peer_tables import contenders
from bench.pipeline import LatencyFigures
from bench.pipeline_throughput import ThroughputFigures


def throughput_plot(path: Path, figures: ThroughputFigures, ceiling: CeilingFigures | None) -> None:
    """Horizontal bars of each contender's median events/s (log scale), the broker's
    ceiling on top, each bar's range as its error bar."""
    bars: list[tuple[str, float, float, float]] = []
    if ceiling is not None:
        for label, runs in (
            ("broker: consume (perf tool)", ceiling.consume),
            ("broker: produce, transactions (perf tool)", ceiling.produce_transactional),
        ):
            rates = [run.records_per_s for run in runs]
            bars.append((label, statistics.median(rates), min(rates), max(rates)))
    for label, group in contenders(figures):
        rates = [run.rate for run in group]
        bars.append((label, statistics.median(rates), min(rates), max(rates)))
    labels = [bar[0] for bar in bars][::-1]
    medians = [bar[1] for bar in bars][::-1]
    low = [bar[1] - bar[2] for bar in bars][::-1]
    high = [bar[3] - bar[1] for bar in bars][::-1]
    colours = ["#9e9e9e" if label.startswith("broker") else "#1f77b4" for label in labels]
    colours = ["#d62728" if "native" in label else colour
               for label, colour in zip(labels, colours, strict=True)]  # fmt: skip
    figure = Figure(figsize=(9, 0.5 * len(bars) + 1.5))
    axes = figure.subplots()
    axes.barh(labels, medians, xerr=[low, high], color=colours, capsize=3)
    axes.set_xscale("log")
    axes.set_xlabel("raw records per second (log scale; median and range of the repeats)")
    axes.set_title("Throughput over the same raw records")
    for n, value in enumerate(medians):
        axes.text(value, n, f" {value:,.0f}", va="center", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def latency_plot(path: Path, rows: list[LatencyFigures]) -> None:
    """p50, p99 and p99.9 against the rate sent (both log scales); unseen changes left out
    of the line (the table says how many)."""
    ordered = sorted(rows, key=lambda row: row.target_rate)
    rates = [row.target_rate for row in ordered]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for q, style in ((50, "o-"), (99, "s-"), (99.9, "^-")):
        values = [row.p(q) for row in ordered]
        shown = [math.nan if math.isinf(value) else value for value in values]
        axes.plot(rates, shown, style, label=f"p{q:g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("raw records per second sent")
    axes.set_ylabel("ms, raw record appended -> change committed")
    axes.set_title("Worker latency by rate (native engine, 0.1 s commits)")
    axes.legend()
    axes.grid(visible=True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
