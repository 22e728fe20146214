"""The poller's Prometheus metrics, in a registry of the runner's own.

Names follow Prometheus' conventions (``_total`` counters, ``_seconds``, base units). Labels
hold a district ID at most, never a token or anything of a contact: a district ID is an
organisation's, and there is one set of series per district, a handful of series each. At
10,000 districts that is some 100,000 series, which a Prometheus server holds; the request
latency histogram, the metric with most series per label value, is labelled by endpoint only
for that reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.records import DeadLetter, PollerCursor, RawCleverRecord
from schemas.values import RawRecordKind

#: A Clever path's endpoint: the first segment after the version (``/v3.0/users`` -> users).
_ENDPOINT = re.compile(r"^/v\d+\.\d+/([a-z_]+)")
#: Clever answers fast, or slowly under load: 10 ms to a minute.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def endpoint_of(path: str) -> str:
    """The endpoint label of a Clever request path (``other`` for anything unexpected)."""
    found = _ENDPOINT.match(path)
    return found[1] if found else "other"


class PollerMetrics:
    """Every metric of one poller process."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        r = self.registry
        self.events_fetched = Counter(
            "clever_poller_events_fetched", "Clever events read from the Events API.",
            ["district"], registry=r,
        )  # fmt: skip
        self.records_published = Counter(
            "clever_poller_records_published",
            "Raw records committed to Kafka, by kind (event, snapshot, sync_started, "
            "sync_completed).",
            ["district", "kind"],
            registry=r,
        )
        self.pages = Counter(
            "clever_poller_pages", "Transactions committed: a page with its cursor.",
            ["district"], registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "clever_poller_dead_letters", "Malformed Clever items sent to the dead letters.",
            ["district"], registry=r,
        )  # fmt: skip
        self.resyncs = Counter(
            "clever_poller_resyncs",
            "Syncs started, by cause (first_sync, operator, cursor_expired, rollover, "
            "window_passed).",
            ["district", "cause"],
            registry=r,
        )
        self.request_duration = Histogram(
            "clever_request_duration_seconds", "Clever requests (one attempt each), by endpoint.",
            ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.responses = Counter(
            "clever_responses",
            "Clever's answers by HTTP status, or 'timeout' / 'transport' when none came.",
            ["status"],
            registry=r,
        )
        self.retries = Counter(
            "clever_request_retries", "Clever requests tried again, by what failed.",
            ["status"], registry=r,
        )  # fmt: skip
        self.cursor_updated = Gauge(
            "clever_poller_cursor_updated_timestamp_seconds",
            "When the district's cursor was last committed (Unix time).",
            ["district"],
            registry=r,
        )
        self.last_event = Gauge(
            "clever_poller_last_event_timestamp_seconds",
            "When Clever created the last event published for the district (Unix time).",
            ["district"],
            registry=r,
        )
        self.failing = Gauge(
            "clever_poller_district_failing",
            "1 while the district fails (a refused token, Clever or Kafka failing), else 0.",
            ["district"],
            registry=r,
        )
        self.districts_owned = Gauge(
            "clever_poller_districts_owned",
            "Districts of the shards this poller owns (or not known yet).",
            registry=r,
        )
        self.shards_owned = Gauge(
            "clever_poller_shards_owned",
            "Shards (cursor topic partitions) this poller owns and publishes for.",
            registry=r,
        )
        self.tasks = Gauge(
            "clever_poller_tasks",
            "asyncio tasks of the poller process: bounded by its slots and shards.",
            registry=r,
        )
        r.register(_CursorAge(self))

    def committed(
        self,
        cursor: PollerCursor,
        records: Sequence[RawCleverRecord],
        dead_letters: Sequence[DeadLetter],
    ) -> None:
        """A district's transaction committed ``records``, ``dead_letters`` and ``cursor``."""
        district = cursor.district_id
        self.pages.labels(district).inc()
        kinds: dict[str, int] = {}
        newest: float | None = None
        for record in records:
            kind = str(record.kind).lower()
            kinds[kind] = kinds.get(kind, 0) + 1
            if record.kind == RawRecordKind.EVENT and record.created_at is not None:
                created = record.created_at.timestamp()
                newest = created if newest is None else max(newest, created)
        for kind, count in kinds.items():
            self.records_published.labels(district, kind).inc(count)
        if dead_letters:
            self.dead_letters.labels(district).inc(len(dead_letters))
        self.cursor_updated.labels(district).set(cursor.updated_at.timestamp())
        if newest is not None:
            self.last_event.labels(district).set(newest)

    def cursor_ages(self) -> Iterable[tuple[str, float]]:
        """(district, seconds since its cursor was committed), for every district seen."""
        now = self._clock()
        for metric in self.cursor_updated.collect():
            for sample in metric.samples:
                yield sample.labels["district"], now - sample.value


class _CursorAge(Collector):
    """``clever_poller_cursor_age_seconds``, computed when scraped."""

    def __init__(self, metrics: PollerMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "clever_poller_cursor_age_seconds",
            "Seconds since the district's cursor was last committed.",
            labels=["district"],
        )
        for district, age in self._metrics.cursor_ages():
            family.add_metric([district], age)
        yield family
