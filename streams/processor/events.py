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

A sync stands for the events before it too: its snapshot is the state after every event up
to its bookmark (the newest event when it started), events it never saw one by one. A copy of
such an event, arriving after the sync, would bring back an older state (a deleted contact's
last update, say). Clever's feed ascends by event ID (its list order, and what
``starting_after`` pages by), so an event whose ID is at or before the newest bookmark is
covered by a snapshot and changes nothing either (``covered``). Why: docs/decisions/0003.
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


def id_order(event_id: str) -> tuple[int, str]:
    """Clever's order of event IDs: 24 lowercase hex digits ascend as text; a shorter ID
    (not Clever's) sorts before a longer one, as a number would."""
    return len(event_id), event_id


def synced(progress: DistrictProgress, record: RawCleverRecord) -> DistrictProgress:
    """``progress`` once the sync ``record`` opens has its bookmark: the newest of a feed.

    Event IDs only compare within one feed, so a sync of another API version (a district
    moved from v2.1 to v3) replaces the bookmark, or clears it if it has none.
    """
    bookmark, api_version = record.event_id, record.api_version
    if api_version == progress.synced_api_version and progress.synced_through is not None:
        held = progress.synced_through
        bookmark = held if bookmark is None else max(held, bookmark, key=id_order)
    return replace(progress, synced_through=bookmark, synced_api_version=api_version)


def covered(progress: DistrictProgress, record: RawCleverRecord, event_id: str) -> bool:
    """Whether a sync's snapshot already holds the event: it is at or before the bookmark
    of a sync of its own feed."""
    bookmark = progress.synced_through
    return (
        bookmark is not None
        and record.api_version == progress.synced_api_version
        and id_order(event_id) <= id_order(bookmark)
    )


def applied(
    store: StateStore, progress: DistrictProgress, record: RawCleverRecord, event_id: str
) -> bool:
    """Whether the event ``event_id`` is in the district's state already: applied before
    (and still remembered), or covered by a sync."""
    return store.event_day(progress.district_id, event_id) is not None or covered(
        progress, record, event_id
    )


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
