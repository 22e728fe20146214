"""End to end from Clever's feed, the pure part: each change timed from its cause event's
``created``, split into the poll wait, the poller and the worker, and judged against the goal.

The times are the machine's wall clock (UTC seconds since the epoch) in every process: the
fake Clever stamps ``created`` as it adds a batch to its feed, the poller stamps
``fetched_at`` once Clever answered, and the benchmark's ``read_committed`` tail notes when
each raw record and each change became readable.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.pipeline_latency import percentile

#: Issue 18: p99 from Clever's feed to the committed change within the poll interval + this.
GOAL_MARGIN_S = 0.5


@dataclass(frozen=True, kw_only=True)
class RawSighting:
    """A Clever event's raw record, as the tail saw it."""

    district_id: str
    #: The event's ``created``, as the raw record carries it.
    created: float
    #: When the poller had the page holding it from Clever (``fetched_at``).
    fetched: float
    #: When it became readable on the raw topic.
    seen: float
    partition: int
    offset: int


@dataclass(frozen=True, kw_only=True)
class ChangeSighting:
    """A privilege change, as the tail saw it."""

    change_id: str
    #: ``cause.clever_event_id`` (None: a sync's change).
    cause: str | None
    #: When it became readable on the changes topic.
    seen: float


@dataclass(frozen=True, slots=True)
class Timed:
    """One change's milliseconds from its cause event's ``created`` to readable, and the
    three stretches they split into (NaN where the raw record was not seen)."""

    total_ms: float
    #: ``created`` -> the poller had the page: the wait for the next poll, and the request.
    wait_ms: float
    #: The page fetched -> its raw record readable: mapping, publishing, the transaction.
    poller_ms: float
    #: The raw record readable -> the change readable: the worker and its commit interval.
    worker_ms: float


@dataclass(frozen=True, kw_only=True)
class EndToEndFigures:
    """One poll interval's run: every change caused by an event created in the window."""

    poll_interval_s: float
    districts: int
    window_s: float
    #: Events created in the window, by Clever's feed.
    events: int
    #: Of them, those whose raw record was seen (the rest count as slowest of all).
    published: int
    #: Of them, those that caused at least one change.
    changed: int
    #: Every timed change, slowest last.
    timed: tuple[Timed, ...]
    #: Changes seen more than once (the same change ID): exactly-once says none.
    duplicates: int = 0
    #: The poller's and the worker's CPU time over the run (1.0: one core, busy throughout).
    poller_cpu_share: float = math.nan
    worker_cpu_share: float = math.nan

    @property
    def unpublished(self) -> int:
        """Events of the window never seen on the raw topic: their changes, if any, never
        came, so each counts as one change slower than every other."""
        return self.events - self.published

    @property
    def goal_ms(self) -> float:
        """Issue 18's bound on the p99: the poll interval plus half a second."""
        return (self.poll_interval_s + GOAL_MARGIN_S) * 1000

    def p(self, q: float) -> float:
        """The ``q`` percentile (0-100) of the changes' milliseconds, unpublished events
        included as infinite."""
        return percentile(self._totals(), q)

    def stage_p(self, stage: str, q: float) -> float:
        """The ``q`` percentile of one stretch (``wait``, ``poller``, ``worker``) in ms."""
        values = sorted(getattr(row, f"{stage}_ms") for row in self.timed)
        return percentile([value for value in values if not math.isnan(value)], q)

    @property
    def met(self) -> bool:
        """Whether the p99 is within the goal."""
        return self.p(99) <= self.goal_ms

    def slowest(self, q: float = 99) -> tuple[float, float, float]:
        """Mean (wait, poller, worker) ms of the changes at or beyond the ``q`` percentile:
        where the tail's time goes."""
        edge = self.p(q)
        tail = [row for row in self.timed if row.total_ms >= edge] or list(self.timed[-1:])
        return (
            _mean(row.wait_ms for row in tail),
            _mean(row.poller_ms for row in tail),
            _mean(row.worker_ms for row in tail),
        )

    def to_pass(self) -> str:
        """What meeting the goal would take ("" when met)."""
        if self.met:
            return ""
        if math.isinf(self.p(99)):
            return f"every event published: {self.unpublished:,} never reached the raw topic"
        wait, poller, worker = self.slowest()
        return (
            f"{self.p(99) - self.goal_ms:,.0f} ms off the p99; the slowest 1% spent on "
            f"average {wait:,.0f} ms waiting for a poll, {poller:,.0f} ms in the poller, "
            f"{worker:,.0f} ms in the worker"
        )

    def _totals(self) -> list[float]:
        return [row.total_ms for row in self.timed] + [math.inf] * self.unpublished


def end_to_end_figures(
    *,
    created: Mapping[str, float],
    raw: Mapping[str, RawSighting],
    changes: Sequence[ChangeSighting],
    window: tuple[float, float],
    poll_interval_s: float,
    districts: int,
) -> EndToEndFigures:
    """The figures of one run: each change whose cause event (by ``created``, event ID ->
    its ``created`` in Clever's feed) was created in ``window`` (start included, end not),
    timed from that ``created`` to when it was readable."""
    start, end = window
    in_window = {event for event, at in created.items() if start <= at < end}
    timed: list[Timed] = []
    changed: set[str] = set()
    ids: set[str] = set()
    duplicates = 0
    for change in changes:
        if change.change_id in ids:
            duplicates += 1
            continue
        ids.add(change.change_id)
        if change.cause is None or change.cause not in in_window:
            continue
        changed.add(change.cause)
        timed.append(_timed(created[change.cause], raw.get(change.cause), change.seen))
    timed.sort(key=lambda row: row.total_ms)
    return EndToEndFigures(
        poll_interval_s=poll_interval_s,
        districts=districts,
        window_s=end - start,
        events=len(in_window),
        published=sum(1 for event in in_window if event in raw),
        changed=len(changed),
        timed=tuple(timed),
        duplicates=duplicates,
    )


def _timed(created: float, raw: RawSighting | None, seen: float) -> Timed:
    if raw is None:
        return Timed((seen - created) * 1000, math.nan, math.nan, math.nan)
    return Timed(
        total_ms=(seen - created) * 1000,
        wait_ms=(raw.fetched - created) * 1000,
        poller_ms=(raw.seen - raw.fetched) * 1000,
        worker_ms=(seen - raw.seen) * 1000,
    )


def _mean(values: Iterable[float]) -> float:
    found = [value for value in values if not math.isnan(value)]
    return statistics.fmean(found) if found else math.nan
