"""The memory of the Clever events a district has applied: an event ID seen before is a repeat.

Clever may deliver one event more than once, under the same ID, anywhere in the feed (next to
itself, in a batch sent again after later ones, in a later poll), and its copy must change
nothing. Kafka positions cannot tell such a copy from a new event, and content cannot either:
an older copy of a contact, applied again after a newer one, would undo it. So each district
remembers the IDs of the contact and student events it applied, each with its day, in a table
of its own (one key per event, on the changelog like every table).

The bound is Clever's own: events are kept 30 days, so no copy of an event older than that can
arrive from Clever. A district keeps IDs for ``WINDOW_DAYS`` (a day of slack) of its *event
time*, the newest day of an event it remembered: time read from the records, never from a
clock, so a replay of the raw topic remembers and forgets exactly alike. When that time moves
to a new day, the IDs older than the window are dropped. An event older than the window itself
cannot be judged and is refused (``StaleEventError``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from schemas.records import RawCleverRecord
from streams.processor.exceptions import StaleEventError
from streams.processor.store import DistrictProgress, StateStore

#: How many days of event time a district remembers applied event IDs for.
WINDOW_DAYS: Final = 31
_SECONDS_PER_DAY: Final = 86_400


def event_day(record: RawCleverRecord) -> int:
    """The day (since the Unix epoch, UTC) of an event: Clever's ``created``, or the time
    the poller fetched it when that is earlier (a clock ahead of the poller's must not move
    the district's time past what later events can reach) or ``created`` is missing."""
    fetched, created = record.fetched_at, record.created_at
    moment = fetched if created is None or created > fetched else created
    return int(moment.timestamp()) // _SECONDS_PER_DAY


def advance(
    store: StateStore, progress: DistrictProgress, *, event_id: str, day: int
) -> DistrictProgress:
    """Check an event not applied before against the window, and move the district's time.

    Raises ``StaleEventError`` for an event older than the window. When the event's day is
    the district's newest, the IDs it no longer needs are forgotten (at most once a day of
    event time, so the walk over the district's IDs is paid once a day, not per event).
    """
    newest = progress.event_day
    if newest is None:
        return replace(progress, event_day=day)
    if day < newest - WINDOW_DAYS:
        raise StaleEventError(
            f"event {event_id} is {newest - day} days older than the district's newest event, "
            f"past the {WINDOW_DAYS}-day memory of applied event IDs: whether it was applied "
            "cannot be told, so it was not"
        )
    if day <= newest:
        return progress
    horizon = day - WINDOW_DAYS
    district_id = progress.district_id
    for remembered, remembered_day in list(store.remembered_events(district_id)):
        if remembered_day < horizon:
            store.forget_event(district_id, remembered)
    return replace(progress, event_day=day)
