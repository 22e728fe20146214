"""Which poller asked: per district, runs of requests by ``User-Agent``, and the busiest minute.

The fleet's pollers identify themselves to Clever (``User-Agent: clever-stream-poller/<version>
(<instance id>)``); the fake keeps, per district, a compact log of the runs of consecutive
requests made by one agent, so a test or a benchmark can tell whether two pollers ever polled
one district at once. Pure bookkeeping: the caller passes the times in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

#: Runs kept per district: two pollers alternating add one per request, so it is bounded.
MAX_RUNS_PER_DISTRICT = 10_000


@dataclass(slots=True)
class PollerRun:
    """Consecutive requests of one agent to one district (``time.monotonic()`` on arrival)."""

    user_agent: str
    first_at: float
    last_at: float
    requests: int = 1


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two agents that polled one district at once: ``requests`` is the smaller of the two
    counts of requests each made inside the other's stint (see ``overlaps``)."""

    district_id: str
    first_agent: str
    second_agent: str
    requests: int


@dataclass(frozen=True, slots=True)
class _Stint:
    """An agent's runs of one district merged (indices into the district's runs)."""

    agent: str
    first: int
    last: int


class PollerLog:
    """Per district, the runs of requests by agent, in arrival order."""

    def __init__(self, max_runs: int = MAX_RUNS_PER_DISTRICT) -> None:
        self._runs: dict[str, deque[PollerRun]] = {}
        self._max_runs = max_runs

    def record(self, district_id: str, user_agent: str, at: float) -> None:
        """One request of ``user_agent`` to ``district_id`` that arrived at ``at``."""
        runs = self._runs.get(district_id)
        if runs is None:
            runs = self._runs[district_id] = deque(maxlen=self._max_runs)
        if runs and runs[-1].user_agent == user_agent:
            last = runs[-1]
            last.last_at = at
            last.requests += 1
        else:
            runs.append(PollerRun(user_agent, at, at))

    def runs(self, district_id: str) -> list[PollerRun]:
        """The district's runs, oldest first (empty if it was never asked)."""
        return list(self._runs.get(district_id, ()))

    def districts(self) -> list[str]:
        """Every district asked at least once."""
        return list(self._runs)

    def agents(self) -> set[str]:
        """Every ``User-Agent`` seen."""
        return {run.user_agent for runs in self._runs.values() for run in runs}

    def overlaps(self, *, gap_s: float, tolerance: int = 1) -> list[Overlap]:
        """The districts that two agents polled at once, per ``overlaps``."""
        found: list[Overlap] = []
        for district_id, runs in self._runs.items():
            found += overlaps(district_id, list(runs), gap_s=gap_s, tolerance=tolerance)
        return found


def overlaps(
    district_id: str, runs: list[PollerRun], *, gap_s: float, tolerance: int = 1
) -> list[Overlap]:
    """Pairs of agents that polled the district at once.

    Runs are maximal blocks of consecutive requests by one agent, so they never overlap in
    time by construction; two live pollers of one district show instead as agents taking turns:
    ``A B A B`` or ``A A B A B B``. A handover (``A..A B..B``) and a later real move back
    (``A..A B..B A..A``) are not two owners at once. So an agent's runs are merged into one
    *stint* while the time from the end of one of its runs to the start of its next is at most
    ``gap_s`` (for a live poller, its longest wait between two polls of the district: the idle
    poll interval, plus a margin); a real move back comes after a longer absence and starts a
    new stint. Two stints of different agents overlap by the requests each made inside the
    other's span (between its first and last run); the pair is reported when the smaller of the
    two counts exceeds ``tolerance``. The default, one, forgives a handover's straggler: the
    old owner's poll in flight when the new owner's first request arrived (``A A B A B B``
    yields one each way; ``A B A B A B`` yields two).
    """
    stints = _stints(runs, gap_s=gap_s)
    found: dict[tuple[str, str], int] = {}
    for i, one in enumerate(stints):
        for other in stints[i + 1 :]:
            if other.first > one.last:
                break  # stints are ordered by start: none after this one reaches back
            if other.agent == one.agent:
                continue
            inside = min(_inside(runs, other, one), _inside(runs, one, other))
            if inside > tolerance:
                pair = (one.agent, other.agent)
                found[pair] = max(found.get(pair, 0), inside)
    return [Overlap(district_id, first, second, n) for (first, second), n in found.items()]


def _stints(runs: list[PollerRun], *, gap_s: float) -> list[_Stint]:
    """Each agent's runs merged while it came back within ``gap_s``; ordered by start."""
    open_: dict[str, _Stint] = {}
    closed: list[_Stint] = []
    for index, run in enumerate(runs):
        stint = open_.get(run.user_agent)
        if stint is not None and run.first_at - runs[stint.last].last_at <= gap_s:
            open_[run.user_agent] = _Stint(run.user_agent, stint.first, index)
            continue
        if stint is not None:
            closed.append(stint)
        open_[run.user_agent] = _Stint(run.user_agent, index, index)
    return sorted([*closed, *open_.values()], key=lambda stint: stint.first)


def _inside(runs: list[PollerRun], guest: _Stint, host: _Stint) -> int:
    """Requests of ``guest``'s runs that lie strictly inside ``host``'s span."""
    return sum(
        run.requests
        for run in runs[max(guest.first, host.first + 1) : min(guest.last, host.last - 1) + 1]
        if run.user_agent == guest.agent
    )


class MinuteCounts:
    """Requests per token per wall-clock minute: this minute's, and the most of any minute."""

    def __init__(self) -> None:
        self._current: dict[str, tuple[int, int]] = {}
        self._busiest: dict[str, int] = {}

    def count(self, token: str, minute: int) -> int:
        """One request of ``token`` in ``minute`` (``time.time() // 60``); the minute's total."""
        seen_minute, used = self._current.get(token, (minute, 0))
        used = used + 1 if seen_minute == minute else 1
        self._current[token] = (minute, used)
        if used > self._busiest.get(token, 0):
            self._busiest[token] = used
        return used

    def used(self, token: str, minute: int) -> int:
        """Requests of ``token`` in ``minute`` so far."""
        seen_minute, used = self._current.get(token, (minute, 0))
        return used if seen_minute == minute else 0

    def busiest(self, tokens: Iterable[str] | None = None) -> int:
        """The most requests one token (of ``tokens``, default any) made in one minute."""
        wanted = self._busiest if tokens is None else {t: self._busiest.get(t, 0) for t in tokens}
        return max(wanted.values(), default=0)
