"""The Faust worker's share of the worker metrics, from Faust's own sensor callbacks.

Faust calls a sensor around each offset commit (with exactly-once, the commit of the
transactions of every partition it owns) and at the start and the end of each rebalance (the
end comes once the tables are recovered). Consumer lag is read when scraped, from the
consumer's last stable offsets and the offsets Faust has committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import faust
from faust.exceptions import ConsumerNotStarted
from faust.sensors import Sensor
from faust.types import AppT, ConsumerT

from streams.metrics import WorkerMetrics


class MetricsSensor(Sensor):
    """Observes commit latency, rebalances and restores into ``metrics``."""

    def __init__(self, metrics: WorkerMetrics, app: faust.App) -> None:
        super().__init__()
        self._metrics = metrics
        self._app = app

    def on_commit_initiated(self, consumer: ConsumerT) -> Any:
        """A commit starts: its start time is the state Faust hands back at its end."""
        return time.perf_counter()

    def on_commit_completed(self, consumer: ConsumerT, state: Any) -> None:
        """A commit ended: its latency."""
        if isinstance(state, float):
            self._metrics.commit_duration.observe(time.perf_counter() - state)

    def on_rebalance_start(self, app: AppT) -> dict[Any, Any]:
        """A rebalance starts: counted, as the native engine counts assignments."""
        self._metrics.rebalances.inc()
        return super().on_rebalance_start(app)

    def on_rebalance_end(self, app: AppT, state: dict[Any, Any]) -> None:
        """A rebalance ended, tables recovered: the restore's duration, if one ran in it."""
        recovery: Any = cast(Any, self._app.tables).recovery
        started = recovery._recovery_started_at  # noqa: SLF001 - Faust's own timestamps (monotonic)
        ended = recovery._recovery_ended_at  # noqa: SLF001
        if started is not None and ended is not None and started >= state.get("time_start", 0):
            self._metrics.restore_duration.observe(max(ended - started, 0.0))


def consumer_lag(app: faust.App, raw_topic: str) -> Callable[[], Mapping[int, int]]:
    """Each owned raw partition's records after the last one committed, read when scraped."""

    def lag() -> Mapping[int, int]:
        consumer: Any = app.consumer
        found: dict[int, int] = {}
        try:
            assigned = [tp for tp in app.assignor.assigned_actives() if tp.topic == raw_topic]
            for tp in assigned:
                end = consumer.highwater(tp)  # the last stable offset, under transactions
                # The next offset to read, as committed: Faust's own record of its commits.
                committed = consumer._committed_offset.get(tp)  # noqa: SLF001
                if end is not None and end >= 0:
                    found[tp.partition] = max(end - (committed or 0), 0)
        except (ConsumerNotStarted, AssertionError, KeyError):
            return {}  # not started, or a partition revoked meanwhile: no figure now
        return found

    return lag
