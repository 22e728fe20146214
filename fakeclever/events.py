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
A test can also *inject* a list entry that is no event Clever would make (a malformed item),
served as it is at the point of the feed where it was injected (:meth:`EventFeed.inject`).
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
class Served:
    """One entry of ``GET /events`` in feed order."""

    #: An event (an original or a re-sent copy), or an injected list entry as it is sent.
    body: Any
    #: Where a page may end and the next start after (``starting_after``): an original's ID,
    #: or an injected entry's own ID; None for a copy and an injected entry without one.
    cursor: str | None
    copy: bool = False
    injected: bool = False

    def entry(self, uri: Callable[[str], str]) -> Any:
        """The list entry: an event wrapped as Clever wraps list items, an injected entry as
        it was given."""
        if self.injected:
            return self.body
        return {"data": self.body, "uri": uri(self.body["id"])}


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
        # position -> the copies and injected entries served just before its event
        self._extras: dict[int, list[Served]] = {}
        self._waiting: list[Served] = []  # for the next event appended
        self._injected: dict[str, int] = {}  # an injected entry's cursor -> its position

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
                self._extras[len(self._events)], self._waiting = self._waiting, []
            event["id"] = make_id(self._tag, self._space, len(self._events))
            event["created"] = stamp
            self._events.append(event)
            self._times.append(now)

    def expire_all(self) -> None:
        """Move the retention window past every event so far (30 days went by), copies
        included: those attached to old positions and those still waiting."""
        self._expired_before = len(self._events)
        self._extras.clear()
        self._waiting.clear()
        self._injected.clear()

    def redeliver(self, originals: Sequence[Event]) -> list[Event]:
        """Serve these (flushed) events again, just before the next event appended.

        The copies are independent dicts equal to the originals (same ``id``, same content),
        so a test may alter one to model a copy that holds something else.
        """
        copies = [copy.deepcopy(event) for event in originals]
        self._waiting += (Served(event, None, copy=True) for event in copies)
        return copies

    def inject(self, entry: Any, cursor: str | None) -> None:
        """Serve the list entry ``entry`` as it is, after every event so far and before the
        next one appended (in the order injected, among re-sent copies too); until then, at
        the end of the feed.

        ``cursor`` is its own ID, where a client may page on from (``starting_after``); an
        entry without one (or whose ID names something else already) goes in the page of the
        next entry that has one, or at the very end of the feed.
        """
        if cursor is not None and self.locate(cursor) is not None:
            cursor = None
        self._waiting.append(Served(entry, cursor, injected=True))
        if cursor is not None:
            self._injected[cursor] = len(self._events)

    def locate(self, cursor: str) -> tuple[int, int | None] | None:
        """Where a retained cursor is: an original's position and None, or the position an
        injected entry is served before and its index among that position's extras; None
        when unknown or expired."""
        at = self.position(cursor)
        if at is not None:
            return at, None
        at = self._injected.get(cursor)
        if at is None or at < self.first_retained():
            return None
        extras = self._extras.get(at, []) if at < len(self._events) else self._waiting
        for index, extra in enumerate(extras):
            if extra.injected and extra.cursor == cursor:
                return at, index
        return None

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

    def entries(self, start: int, skip: int = 0) -> Iterator[Served]:
        """What ``GET /events`` serves from index ``start`` (clamped to the window): each
        position's extras (copies, injected entries), then its original; at the end, the
        injected entries waiting for the next event. ``skip`` leaves out the first extras of
        ``start`` (those up to an injected cursor)."""
        begin = max(start, self.first_retained())
        skip = skip if begin == start else 0
        for index in range(begin, len(self._events)):
            extras = self._extras.get(index, [])
            yield from extras[skip:] if index == begin else extras
            event = self._events[index]
            yield Served(event, event["id"])
        waiting = self._waiting[skip:] if begin == len(self._events) else self._waiting
        yield from (extra for extra in waiting if extra.injected)

    def entries_after(self, cursor: str | None) -> Iterator[Served] | None:
        """What ``GET /events`` serves after ``cursor`` (None: from the oldest retained);
        None when the cursor is unknown or expired (the server's 404)."""
        if cursor is None:
            return self.entries(0)
        found = self.locate(cursor)
        if found is None:
            return None
        at, index = found
        return self.entries(at + 1) if index is None else self.entries(at, index + 1)

    def served(self, start: int) -> Iterator[tuple[Event, bool]]:
        """``(event, is_copy)`` as Clever serves them from index ``start`` (clamped to the
        window): each position's copies, then its original (injected entries left out)."""
        for served in self.entries(start):
            if not served.injected:
                yield served.body, served.copy

    def served_after(self, event_id: str | None) -> list[Event] | None:
        """Every event served after a retained cursor (None: from the oldest retained),
        copies included, injected entries left out; None when the cursor is unknown or
        expired (the server's 404)."""
        found = self.entries_after(event_id)
        if found is None:
            return None
        return [served.body for served in found if not served.injected]

    def backward(self, end: int) -> Iterator[Event]:
        """Events before index ``end``, newest first, down to the window's start."""
        for index in range(min(end, len(self._events)) - 1, self.first_retained() - 1, -1):
            yield self._events[index]


def entry_groups(
    served: Iterable[Served], keep: Callable[[Event], bool]
) -> Iterator[tuple[str | None, list[Served]]]:
    """The kept entries in runs that a page never splits: ``(cursor, entries)``, each run
    ending on a kept original or an injected entry with a cursor, which is the run's cursor.

    A client pages on with the last event's ID, and a copy's ID points back at an earlier
    position, so a page must end on an original (or on an injected entry Clever can page on
    from). With a filter, copies attached to a position whose event is filtered out ride with
    the next kept original, and wait for it if there is none yet. Injected entries pass every
    filter; those after the last cursor are a last run of their own, with cursor None.
    """
    run: list[Served] = []
    for entry in served:
        if entry.injected or keep(entry.body):
            run.append(entry)
            if entry.cursor is not None:
                yield entry.cursor, run
                run = []
    if tail := [entry for entry in run if entry.injected]:
        yield None, tail


def page_groups(
    served: Iterable[tuple[Event, bool]], keep: Callable[[Event], bool]
) -> Iterator[tuple[str, list[Event]]]:
    """The kept events in runs that a page never splits: ``(cursor, events)``, each run the
    kept copies before a kept original and that original, whose ID is the cursor (see
    :func:`entry_groups`, which has injected entries too)."""
    entries = (Served(event, None if is_copy else event["id"], copy=is_copy)
               for event, is_copy in served)  # fmt: skip
    for cursor, run in entry_groups(entries, keep):
        if cursor is not None:
            yield cursor, [entry.body for entry in run]
