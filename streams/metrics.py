"""The worker's Prometheus metrics, in a registry of the engine's own.

What the record handler counts (records by outcome, privilege changes by kind, dead letters
by reason) and what the engine owns (partitions, their lag) are read when scraped, so the
hot path only bumps the plain counters it kept already. Commits, aborts, restores and
rebalances are observed where they happen. Labels hold a partition, an outcome, a kind or
an error class: never a district, contact or student.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.processor.handler import RecordHandler

#: A commit is a few broker round trips: a millisecond to seconds when the broker struggles.
_COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: A restore reads a partition's changelog: instant to minutes.
_RESTORE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)


class WorkerMetrics:
    """Every metric of one worker."""

    def __init__(
        self,
        handler: RecordHandler,
        *,
        owned: Callable[[], int],
        lag: Callable[[], Mapping[int, int]] = dict,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.commit_duration = Histogram(
            "clever_worker_commit_duration_seconds",
            "A raw partition's transaction commit: outputs, changelog and offset together.",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )
        self.transaction_aborts = Counter(
            "clever_worker_transaction_aborts", "Transactions aborted (a stop, a failure).",
            registry=r,
        )  # fmt: skip
        self.restore_duration = Histogram(
            "clever_worker_restore_duration_seconds", "A partition's restore from its changelog.",
            buckets=_RESTORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.restored_records = Counter(
            "clever_worker_restored_records", "Changelog records read back by restores.",
            registry=r,
        )  # fmt: skip
        self.rebalances = Counter(
            "clever_worker_rebalances", "Partitions assigned to this worker by its group.",
            registry=r,
        )  # fmt: skip
        r.register(_Read(handler, owned=owned, lag=lag))


class _Read(Collector):
    """The metrics read when scraped: the handler's counts, the partitions and their lag."""

    def __init__(
        self,
        handler: RecordHandler,
        *,
        owned: Callable[[], int],
        lag: Callable[[], Mapping[int, int]],
    ) -> None:
        self._handler = handler
        self._owned = owned
        self._lag = lag

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        handler = self._handler
        yield _counted(
            "clever_worker_records",
            "Raw records handled, by outcome (applied, replayed, skipped:<type>, "
            "dead-lettered...).",
            "outcome",
            handler.counts,
        )
        yield _counted(
            "clever_worker_privilege_changes", "Privilege changes emitted, by kind.",
            "kind", handler.change_kinds,
        )  # fmt: skip
        yield _counted(
            "clever_worker_dead_letters", "Raw records dead-lettered, by the error's class.",
            "reason", handler.dead_letter_reasons,
        )  # fmt: skip
        owned = GaugeMetricFamily(
            "clever_worker_partitions_owned", "Raw partitions this worker owns."
        )
        owned.add_metric([], self._owned())
        yield owned
        lag = GaugeMetricFamily(
            "clever_worker_consumer_lag",
            "Raw records after the last one processed, by owned partition.",
            labels=["partition"],
        )
        for partition, behind in sorted(self._lag().items()):
            lag.add_metric([str(partition)], behind)
        yield lag


def _counted(
    name: str, documentation: str, label: str, counts: Mapping[str, int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family
