"""A district's event feeds: Clever's ordering inside a batch, IDs, and the 30-day window.

Clever sequences the events of one batch (seeds/004 "Event ordering"): created before
updated before deleted; students before contacts when created or updated, contacts before
students when deleted. Mutations produce :class:`Pending` events; a batch sorts them (stably,
so a record's own events keep their order) and only then gives them IDs, so IDs ascend in
the order the feed serves them. An event ID encodes its position, which makes
``starting_after`` a lookup rather than a search.

Clever also re-sends earlier events, unchanged and under their own IDs, with a later batch.
The feed keeps such *copies* attached to the position of the event they are served just
before (:meth:`EventFeed.redeliver`); the retained events (positions) stay the originals only.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def feed_order(events: Iterable[Event]) -> list[Event]:
    """Events in the order the feed serves them (IDs ascend; unflushed ones keep their order)."""
    return sorted(events, key=lambda event: event["id"])


class EventFeed:
    """One API version's retained events of one district, oldest first."""

    def __init__(self, tag: str, space: Space, clock: Callable[[], datetime]) -> None:
        self._tag, self._space, self._clock = tag, space, clock
        self._events: list[Event] = []
        self._times: list[datetime] = []
        self._expired_before = 0
        self._copies: dict[int, list[Event]] = {}  # position -> copies served just before it
        self._waiting: list[Event] = []  # copies for the next event appended

    def __len__(self) -> int:
        return len(self._events)

    def append(self, events: Iterable[Event]) -> None:
        """Give events their IDs and timestamps and add them to the end of the feed."""
        now = self._clock()  # one batch, one timestamp: Clever emits a batch at once
        if self._times and now < self._times[-1]:
            now = self._times[-1]  # a clock that steps back must not reorder the feed
        stamp = clever_time(now)
        for event in events:
            if self._waiting:
                self._copies[len(self._events)], self._waiting = self._waiting, []
            event["id"] = make_id(self._tag, self._space, len(self._events))
            event["created"] = stamp
            self._events.append(event)
            self._times.append(now)

    def expire_all(self) -> None:
        """Move the retention window past every event so far (30 days went by), copies
        included: those attached to old positions and those still waiting."""
        self._expired_before = len(self._events)
        self._copies.clear()
        self._waiting.clear()

    def redeliver(self, originals: Sequence[Event]) -> list[Event]:
        """Serve these (flushed) events again, just before the next event appended.

        The copies are independent dicts equal to the originals (same ``id``, same content),
        so a test may alter one to model a copy that holds something else.
        """
        copies = [copy.deepcopy(event) for event in originals]
        self._waiting += copies
        return copies

    def last(self, count: int) -> list[Event]:
        """The newest ``count`` retained events, oldest first."""
        start = max(self.first_retained(), len(self._events) - max(count, 0))
        return self._events[start:]

    def at(self, index: int) -> Event:
        """The event at a position (retained or not)."""
        return self._events[index]

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

    def served(self, start: int) -> Iterator[tuple[Event, bool]]:
        """``(event, is_copy)`` as Clever serves them from index ``start`` (clamped to the
        window): each position's copies, then its original."""
        copies = self._copies
        for index in range(max(start, self.first_retained()), len(self._events)):
            for repeated in copies.get(index, ()):
                yield repeated, True
            yield self._events[index], False

    def served_after(self, event_id: str | None) -> list[Event] | None:
        """Every event served after a retained event ID (None: from the oldest retained),
        copies included; None when the ID is unknown or expired (the server's 404)."""
        if event_id is None:
            return [event for event, _ in self.served(0)]
        at = self.position(event_id)
        return None if at is None else [event for event, _ in self.served(at + 1)]

    def backward(self, end: int) -> Iterator[Event]:
        """Events before index ``end``, newest first, down to the window's start."""
        for index in range(min(end, len(self._events)) - 1, self.first_retained() - 1, -1):
            yield self._events[index]


def page_groups(
    served: Iterable[tuple[Event, bool]], keep: Callable[[Event], bool]
) -> Iterator[tuple[str, list[Event]]]:
    """The kept events in runs that a page never splits: ``(cursor, events)``, each run the
    kept copies before a kept original and that original, whose ID is the cursor.

    A client pages on with the last event's ID, and a copy's ID points back at an earlier
    position, so a page must end on an original. With a filter, copies attached to a
    position whose event is filtered out ride with the next kept original, and wait for it
    if there is none yet.
    """
    run: list[Event] = []
    for event, is_copy in served:
        if keep(event):
            run.append(event)
            if not is_copy:
                yield event["id"], run
                run = []
