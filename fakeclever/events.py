"""A district's event feeds: Clever's ordering inside a batch, IDs, and the 30-day window.

Clever sequences the events of one batch (seeds/004 "Event ordering"): created before
updated before deleted; students before contacts when created or updated, contacts before
students when deleted. Mutations produce :class:`Pending` events; a batch sorts them (stably,
so a record's own events keep their order) and only then gives them IDs, so IDs ascend in
the order the feed serves them. An event ID encodes its position, which makes
``starting_after`` a lookup rather than a search.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fakeclever.ids import Space, clever_time, make_id, parse_id

Event = dict[str, Any]
RETENTION = timedelta(days=30)
_ACTIONS = {"created": 0, "updated": 1, "deleted": 2}


@dataclass(frozen=True, slots=True)
class Pending:
    """An event waiting for its batch to end: what happened to which kind of record."""

    action: str  # created | updated | deleted
    record: str  # student | contact
    event: Event  # id and created are filled in when the batch is flushed

    def batch_rank(self) -> tuple[int, int]:
        """Where Clever puts this event inside a batch."""
        students_first = 0 if self.record == "student" else 1
        rank = 1 - students_first if self.action == "deleted" else students_first
        return _ACTIONS[self.action], rank


def pending(
    action: str, record: str, type_prefix: str, obj: dict[str, Any], previous: Any = None
) -> Pending:
    """A pending event of ``<type_prefix>.<action>`` carrying ``obj``.

    ``previous_attributes`` goes inside ``data`` next to ``object``, as Clever's docs show.
    """
    data: dict[str, Any] = {"object": obj}
    if action == "updated":
        data["previous_attributes"] = previous if previous is not None else {}
    return Pending(action, record, {"id": "", "type": f"{type_prefix}.{action}", "created": "",
                                    "data": data})  # fmt: skip


def in_batch_order(events: Iterable[Pending]) -> list[Pending]:
    """The events of one batch in the order Clever serves them."""
    return sorted(events, key=Pending.batch_rank)


class EventFeed:
    """One API version's retained events of one district, oldest first."""

    def __init__(self, tag: str, space: Space, clock: Callable[[], datetime]) -> None:
        self._tag, self._space, self._clock = tag, space, clock
        self._events: list[Event] = []
        self._times: list[datetime] = []
        self._expired_before = 0

    def __len__(self) -> int:
        return len(self._events)

    def append(self, events: Iterable[Event]) -> None:
        """Give events their IDs and timestamps and add them to the end of the feed."""
        now = self._clock()  # one batch, one timestamp: Clever emits a batch at once
        if self._times and now < self._times[-1]:
            now = self._times[-1]  # a clock that steps back must not reorder the feed
        stamp = clever_time(now)
        for event in events:
            event["id"] = make_id(self._tag, self._space, len(self._events))
            event["created"] = stamp
            self._events.append(event)
            self._times.append(now)

    def expire_all(self) -> None:
        """Move the retention window past every event so far (30 days went by)."""
        self._expired_before = len(self._events)

    def first_retained(self) -> int:
        """Index of the oldest event still inside the 30-day window."""
        by_age = bisect_left(self._times, self._clock() - RETENTION)
        return max(self._expired_before, by_age)

    def retained(self) -> list[Event]:
        """The events Clever still serves."""
        return self._events[self.first_retained() :]

    def position(self, event_id: str) -> int | None:
        """Index of a retained event, or None if unknown or expired."""
        parsed = parse_id(event_id)
        if parsed is None or parsed.tag != self._tag or parsed.space != self._space:
            return None
        if not self.first_retained() <= parsed.counter < len(self._events):
            return None
        return parsed.counter

    def get(self, event_id: str) -> Event | None:
        """A retained event by ID."""
        at = self.position(event_id)
        return None if at is None else self._events[at]

    def forward(self, start: int) -> Iterator[Event]:
        """Events from index ``start`` (clamped to the window) to the newest."""
        for index in range(max(start, self.first_retained()), len(self._events)):
            yield self._events[index]

    def backward(self, end: int) -> Iterator[Event]:
        """Events before index ``end``, newest first, down to the window's start."""
        for index in range(min(end, len(self._events)) - 1, self.first_retained() - 1, -1):
            yield self._events[index]
