"""The fleet benchmark's figures, judged against issue 19's goals, and the "Fleet" section of
``docs/performance.md`` (between marker comments; the rest of the page is left alone)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from rich import box
from rich.table import Table

from bench.pipeline_latency import percentile
from bench.report import markdown_table
from schemas.topics import POLLER_CURSORS

_MIB = 1024 * 1024
#: Issue 19: one poller's resident memory, at 10,000 districts and during a big sync.
RSS_GOAL_MIB = 1024.0
#: Issue 19: Kafka connections a small constant per broker, whatever the districts: one
#: transactional producer per shard it owns (the cursor topic's partitions), up to two
#: connections each (its partition leader and its transaction coordinator), and this many
#: for the group's consumer and metadata besides.
CONNECTIONS_GOAL_BASE = 8
#: The shards when the poller's /metrics says none: the cursor topic's fixed partitions.
_DEFAULT_SHARDS = POLLER_CURSORS.partitions or 12
#: Issue 19: busy districts' p99 from Clever's feed to the raw topic within poll interval + this.
LATENCY_MARGIN_S = 1.0
#: Clever's rate limit per token and minute.
REQUESTS_GOAL_PER_MINUTE = 1200
SECTION_START = "<!-- fleet:start (written by `python -m bench --only fleet --report`) -->"
SECTION_END = "<!-- fleet:end -->"


@dataclass(frozen=True, kw_only=True)
class FleetFigures:
    """One poller serving ``districts`` districts: idle, then during a big district's sync."""

    districts: int
    brokers: int
    poll_interval_s: float
    #: The poller's idle poll interval (its poll interval when it has none).
    idle_interval_s: float
    #: Seconds until /ready said every district polls.
    ready_s: float
    rss_mib: float
    threads: int
    descriptors: int
    kafka_connections: int
    #: ``clever_poller_tasks`` and the owned gauges of /metrics; NaN: not exported.
    tasks: float = math.nan
    districts_owned: float = math.nan
    shards_owned: float = math.nan
    #: CPU time over the idle stretch, as a share of one core.
    idle_cpu_share: float
    #: Busy districts: ms from each event's ``created`` to readable on the raw topic, sorted;
    #: events never seen count as infinite.
    busy_ms: tuple[float, ...] = ()
    #: The busy events' two stretches, ms, sorted (``busy_stretches``): the poll's wait and
    #: request, then the publish.
    busy_wait_ms: tuple[float, ...] = ()
    busy_publish_ms: tuple[float, ...] = ()
    #: Idle districts woken by one event each: seconds from its ``created`` to readable.
    idle_first_s: tuple[float, ...] = ()
    big_contacts: int = 0
    #: Raw records of the big district seen, and the seconds from its first to its sync's
    #: completion (NaN: the sync did not complete in the stretch).
    big_records: int = 0
    big_sync_s: float = math.nan
    peak_rss_mib: float = math.nan
    busiest_minute: int = 0
    overlapping: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def busy_goal_ms(self) -> float:
        """The busy districts' p99 bound: the poll interval plus a second."""
        return (self.poll_interval_s + LATENCY_MARGIN_S) * 1000

    @property
    def connections_goal(self) -> int:
        """Issue 19's bound on the Kafka connections: 2 per shard owned + 8, per broker."""
        shards = _DEFAULT_SHARDS if math.isnan(self.shards_owned) else int(self.shards_owned)
        return (2 * shards + CONNECTIONS_GOAL_BASE) * self.brokers

    @property
    def big_records_per_s(self) -> float:
        """The big sync's raw records a second (NaN until it completed)."""
        if math.isnan(self.big_sync_s) or self.big_sync_s <= 0:
            return math.nan
        return self.big_records / self.big_sync_s


def busy_latencies(
    created: Mapping[str, tuple[str, float]], seen: Mapping[str, float], *, end: float
) -> list[float]:
    """Milliseconds from ``created`` to readable of each busy event, sorted, unseen ones as
    infinite. ``created``: event ID -> (district, its ``created``); ``seen``: event ID -> when
    it became readable. A district counts as busy once its first event of the stretch was
    read (until then the poller, by design, polled it at its idle interval): its events
    created from then until ``end`` are timed."""
    return sorted(
        (seen[event] - at) * 1000 if event in seen else math.inf
        for event, at in _timed(created, seen, end=end)
    )


def busy_stretches(
    created: Mapping[str, tuple[str, float]],
    seen: Mapping[str, float],
    fetched: Mapping[str, float],
    *,
    end: float,
) -> tuple[list[float], list[float]]:
    """The two stretches of each busy event timed and read, in milliseconds, each sorted:
    the **wait**, from ``created`` to the poller having its page (``fetched``: the poll's
    wait and its request), and the **publish**, from there to readable (the mapping, the
    shard's transaction, the commit)."""
    waits, publishes = [], []
    for event, at in _timed(created, seen, end=end):
        if event in seen and event in fetched:
            waits.append((fetched[event] - at) * 1000)
            publishes.append((seen[event] - fetched[event]) * 1000)
    return sorted(waits), sorted(publishes)


def _timed(
    created: Mapping[str, tuple[str, float]], seen: Mapping[str, float], *, end: float
) -> list[tuple[str, float]]:
    """(event, its ``created``) of the busy events timed (see ``busy_latencies``)."""
    settled: dict[str, float] = {}
    for event, (district, _) in created.items():
        if event in seen:
            settled[district] = min(settled.get(district, math.inf), seen[event])
    return [
        (event, at)
        for event, (district, at) in created.items()
        if settled.get(district, math.inf) <= at < end
    ]


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "missed")


def _ms(value: float) -> str:
    return "never" if math.isinf(value) else ("n/a" if math.isnan(value) else f"{value:,.0f}")


def goal_rows(figures: FleetFigures) -> list[tuple[str, str, str, str]]:
    """(figure, measured, goal, verdict) of each of issue 19's goals, then the other figures."""
    busy = list(figures.busy_ms)
    idle = sorted(figures.idle_first_s)
    worst_idle = idle[-1] if idle else math.nan
    connections_goal = figures.connections_goal
    peak = figures.peak_rss_mib if not math.isnan(figures.peak_rss_mib) else figures.rss_mib
    p99 = percentile(busy, 99)
    return [
        ("RSS, idle / peak during the big sync (MiB)", f"{figures.rss_mib:,.0f} / {peak:,.0f}",
         f"<= {RSS_GOAL_MIB:,.0f}", _verdict(peak <= RSS_GOAL_MIB)),
        ("Kafka connections (idle)", f"{figures.kafka_connections:,}",
         f"<= {connections_goal} ({figures.brokers} broker): 2 per shard owned + 8",
         _verdict(figures.kafka_connections <= connections_goal)),
        (f"busy districts: created -> committed, p50 / p99 ms ({len(busy):,} events)",
         f"{_ms(percentile(busy, 50))} / {_ms(p99)}",
         f"p99 <= {figures.busy_goal_ms:,.0f} (poll interval + {LATENCY_MARGIN_S:g} s)",
         _verdict(p99 <= figures.busy_goal_ms if busy else None)),
        ("busy districts, p99 of each stretch: the poll's wait and request / the publish, ms",
         f"{_ms(percentile(list(figures.busy_wait_ms), 99))} / "
         f"{_ms(percentile(list(figures.busy_publish_ms), 99))}", "", ""),
        (f"idle districts: first event after, slowest of {len(idle)} (s)", _ms(worst_idle),
         f"<= {figures.idle_interval_s:g} (the idle poll interval)",
         _verdict(worst_idle <= figures.idle_interval_s if idle else None)),
        ("requests per minute per token, busiest", f"{figures.busiest_minute:,}",
         f"<= {REQUESTS_GOAL_PER_MINUTE:,}",
         _verdict(figures.busiest_minute <= REQUESTS_GOAL_PER_MINUTE)),
        ("districts polled by two pollers at once", f"{figures.overlapping:,}", "0",
         _verdict(figures.overlapping == 0)),
        (f"big district ({figures.big_contacts:,} contacts): sync records/s",
         _rate(figures), "", ""),
        ("ready s (every district polls)", f"{figures.ready_s:,.1f}", "", ""),
        ("threads / open fds", f"{figures.threads:,} / {figures.descriptors:,}", "", ""),
        ("asyncio tasks", _count(figures.tasks), "", ""),
        ("districts / shards owned", f"{_count(figures.districts_owned)} / "
         f"{_count(figures.shards_owned)}", "", ""),
        ("idle CPU, % of a core (per 1,000 districts)",
         f"{figures.idle_cpu_share * 100:,.1f} "
         f"({figures.idle_cpu_share * 100 * 1000 / max(1, figures.districts):,.1f})", "", ""),
    ]  # fmt: skip


def _count(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def _rate(figures: FleetFigures) -> str:
    if math.isnan(figures.big_records_per_s):
        return f"not completed ({figures.big_records:,} records seen)"
    rate, seconds = figures.big_records_per_s, figures.big_sync_s
    return f"{rate:,.0f} ({figures.big_records:,} in {seconds:,.0f} s)"


def fleet_table(figures: FleetFigures) -> Table:
    """One case's figures beside issue 19's goals."""
    table = Table(
        title=f"Fleet: one poller, {figures.districts:,} districts (1% busy) and a big sync",
        caption=f"poll interval {figures.poll_interval_s:g} s, idle interval "
        f"{figures.idle_interval_s:g} s; memory, threads, fds and Kafka connections from /proc; "
        "tasks and owned gauges from the poller's /metrics; latency: each busy event's created "
        "(stamped by the fake Clever) to readable by a read_committed consumer of the raw topic; "
        "requests per minute from the fake's count per token"
        + "".join(f"; {note}" for note in figures.notes),
        box=box.SIMPLE_HEAD,
    )
    for heading in ("figure", "measured", "goal", "verdict"):
        table.add_column(heading, justify="right" if heading == "measured" else "left")
    for row in goal_rows(figures):
        table.add_row(*row)
    return table


def fleet_section(tables: list[Table], *, command: str, when: str) -> str:
    """The "Fleet" section's Markdown: how it was measured, then each table."""
    parts = [
        "## Fleet",
        "",
        f"Measured {when} with `{command}`: issue 19's goals for one poller of thousands of "
        "districts. `bench/fleet.py` says how each figure is measured: an idle stretch first, "
        "then a big district added at run time while 1% of the districts trickle.",
    ]
    for table in tables:
        parts += ["", markdown_table(table)]
    return "\n".join(parts)


def replace_section(page: str, section: str) -> str:
    """``page`` with its fleet section (between the markers) replaced by ``section``, or the
    section appended when the page has none; nothing else changes."""
    block = f"{SECTION_START}\n{section.strip()}\n{SECTION_END}"
    start, end = page.find(SECTION_START), page.find(SECTION_END)
    if start == -1 or end < start:
        return f"{page.rstrip()}\n\n{block}\n"
    return page[:start] + block + page[end + len(SECTION_END) :]


def section_of(page: str) -> str | None:
    """The fleet section of ``page`` (markers included), if it has one: a rewrite of the whole
    page keeps it."""
    start, end = page.find(SECTION_START), page.find(SECTION_END)
    if start == -1 or end < start:
        return None
    return page[start : end + len(SECTION_END)]


def mib(kib: int) -> float:
    """KiB (``/proc``'s unit) in MiB."""
    return kib * 1024 / _MIB
