"""The sync benchmark's figures as tables: sizes side by side, ratios to the smallest."""

from __future__ import annotations

from rich import box
from rich.table import Table

from bench.clever_sync import SteadyFigures, SyncBenchConfig, SyncFigures


def sync_table(figures: list[SyncFigures]) -> Table:
    """One row per district size; time and memory, and their ratio to the smallest district."""
    table = Table(
        title="Initial sync: fake Clever (own process) -> poller (own process) -> committed "
        "Kafka transactions",
        caption="records: students + contacts; RSS: the poller's own process, its VmHWM (peak) "
        "and its VmRSS halfway through the sync; ratios to the first row",
        box=box.SIMPLE_HEAD,
    )
    for heading in (
        "contacts",
        "records",
        "seconds",
        "records/s",
        "peak RSS MiB",
        "RSS halfway",
        "time ratio",
        "size ratio",
        "peak RSS ratio",
    ):
        table.add_column(heading, justify="right")
    first = figures[0]
    for row in figures:
        halfway = _rss_at(row, row.records // 2)
        table.add_row(
            f"{row.contacts:,}",
            f"{row.records:,}",
            f"{row.seconds:.1f}",
            f"{row.records_per_s:,.0f}",
            f"{row.peak_rss_mib:.0f}",
            f"{halfway:.0f}",
            f"{row.seconds / first.seconds:.2f}",
            f"{row.records / first.records:.1f}",
            f"{row.peak_rss_mib / first.peak_rss_mib:.2f}",
        )
    return table


def steady_table(figures: SteadyFigures, config: SyncBenchConfig) -> Table:
    """Events/s through the poller next to a bare transactional producer of the same records."""
    table = Table(
        title=f"Steady state: {figures.events:,} Clever events, {config.events_page_size} per "
        "page and transaction",
        caption="poller: from the fake Clever's feed to the committed transaction with the "
        "cursor; bare: the same records republished by a transactional producer alone",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("poller events/s", "bare producer events/s", "poller / bare"):
        table.add_column(heading, justify="right")
    table.add_row(
        f"{figures.poller_events_per_s:,.0f}",
        f"{figures.bare_events_per_s:,.0f}",
        f"{figures.ratio:.2f}",
    )
    return table


def _rss_at(row: SyncFigures, records: int) -> float:
    """The RSS sampled nearest ``records`` synced."""
    if not row.rss_samples:
        return 0.0
    return min(row.rss_samples, key=lambda sample: abs(sample[0] - records))[1]
