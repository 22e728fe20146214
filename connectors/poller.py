"""One district's steps: sync from the Data API, then poll events, each page one transaction.

The seeds' recommended flow: bookmark the newest event, take a snapshot from the Data API
between SYNC_STARTED and SYNC_COMPLETED control records, then poll ``starting_after`` the
bookmark. Every page is committed together with the cursor that follows it, so the cursor in
Kafka always says exactly what Kafka holds: a restart carries on from it, mid-sync or not.

A district moves one page per :meth:`DistrictPoller.step`, which says how long to wait before
the next: the fleet's scheduler steps thousands of districts with a few slots, so a district
in a million-record sync takes its turn page by page beside the idle ones. Polling adapts: a
district with recent events is polled every ``poll_interval_s``; one quiet for longer than
``active_for_s`` is polled less and less often, up to every ``idle_poll_interval_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from connectors.client import CleverClient
from connectors.exceptions import CursorExpiredError, MalformedRecordError
from connectors.mapping import (
    event_record,
    snapshot_record,
    sync_completed_record,
    sync_started_record,
    usable_id,
)
from connectors.metrics import PollerMetrics
from connectors.pages import Page
from foundation.clock import utc_now
from schemas.keys import district_key
from schemas.records import DeadLetter, PollerCursor, RawCleverRecord
from schemas.topics import MAX_RECORD_BYTES
from schemas.values import CursorPhase, RecordSource

logger = logging.getLogger(__name__)

#: Students before contacts, as Clever orders creations: a contact's students exist first.
SYNC_ROLES = ("student", "contact")
#: What a dead letter holds besides its item's JSON, at most (error, IDs, path, times).
_LETTER_ROOM = 4096


class SyncCause(StrEnum):
    """Why a sync started: few values, so a metric label can carry it."""

    FIRST_SYNC = "first_sync"
    OPERATOR = "operator"
    CURSOR_EXPIRED = "cursor_expired"
    ROLLOVER = "rollover"
    WINDOW_PASSED = "window_passed"


class Transactions(Protocol):
    """Where a page goes: committed with its cursor, all or nothing."""

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None: ...


@dataclass(frozen=True, kw_only=True)
class PollOptions:
    """The timing and sizes of one district's loop."""

    poll_interval_s: float = 5.0
    #: How long after its last event a district counts as active (polled every interval).
    active_for_s: float = 300.0
    #: The longest wait between polls of a quiet district: its first new event waits no longer.
    idle_poll_interval_s: float = 60.0
    events_page_size: int = 1000
    snapshot_page_size: int = 2_000
    #: Records per transaction in a sync: a larger page is committed in parts.
    sync_transaction_records: int = 1_000
    rollover_min_events: int = 10_000
    #: Clever keeps events 30 days; a day less leaves room for clock skew.
    event_window: timedelta = timedelta(days=29)


class DistrictPoller:
    """Moves one district from its cursor onwards, a page per step; a thin layer on the client."""

    def __init__(
        self,
        client: CleverClient,
        *,
        district_id: str,
        transactions: Transactions,
        options: PollOptions,
        cursor: PollerCursor | None = None,
        on_wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_sync_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        resync_request_id: str | None = None,
        metrics: PollerMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.district_id = district_id
        self._metrics = metrics
        self._monotonic = monotonic
        #: When Clever last answered a page for the district (monotonic), None before.
        self.last_polled: float | None = None
        self._resync_cause = SyncCause.OPERATOR
        #: The last operator request (``ResyncRequest``) taken up: it is in every cursor.
        self.resync_request_id = resync_request_id
        # An operator request to take up with the next resync.
        self._pending_request: str | None = None
        self._client = client
        self._transactions = transactions
        self._options = options
        self._clock = clock
        self._new_sync_id = new_sync_id
        self._api_version = client.api_version
        self._wake = asyncio.Event()
        self._on_wake = on_wake
        #: The cursor of the last commit (or the one the district started from).
        self.cursor = cursor
        self._begun = False
        # The snapshot pages of the sync role under way, fetched one ahead.
        self._pages: AsyncGenerator[Page, None] | None = None
        # When the district last had an event (monotonic), and its current quiet wait.
        self._last_event_at: float | None = None
        self._quiet_wait = options.poll_interval_s
        self._resync_reason: str | None = None
        # Events read since the district was last caught up: a rollover shows as a backlog.
        self._backlog = 0
        #: Committed transactions so far: the supervisor resets its backoff on progress.
        self.commits = 0
        # The events page after a full one, fetched while that one commits.
        self._ahead: tuple[str | None, asyncio.Future[Page]] | None = None

    def request_resync(
        self,
        reason: str,
        *,
        cause: SyncCause = SyncCause.OPERATOR,
        request_id: str | None = None,
    ) -> None:
        """Resync at the next page boundary (an operator's request, an expired cursor...);
        ``request_id`` names the operator's ``ResyncRequest`` it takes up, if any."""
        self._resync_reason = reason
        self._resync_cause = cause
        if request_id is not None:
            self._pending_request = request_id
        self._wake.set()
        if self._on_wake is not None:
            self._on_wake()

    def has_taken_up(self, request_id: str) -> bool:
        """Whether the operator's request ``request_id`` was taken up, or is about to be."""
        return request_id in (self.resync_request_id, self._pending_request)

    async def run(self) -> NoReturn:
        """Step until cancelled, waiting between steps as they say (or until a resync request)."""
        try:
            while True:
                await self._idle(await self.step())
        finally:
            await self.close()

    async def step(self) -> float:
        """One unit of work: start a sync, publish one snapshot page, or poll one events page.

        Returns the seconds to wait before the next step: 0 while there is more to read; after
        a poll, its wait less the time the poll took.
        """
        if not self._begun:
            self._begun = True
            if self.cursor is None:
                # A first sync takes up a request made before it, too.
                self._resync_reason = None
                self.cursor = await self._start_sync(
                    RecordSource.SYNC, "first start", SyncCause.FIRST_SYNC
                )
                return 0.0
            if self._silently_expired(self.cursor):
                self.request_resync(
                    "no event seen and the cursor is older than Clever's window",
                    cause=SyncCause.WINDOW_PASSED,
                )
        cursor = self.cursor
        if cursor is None:  # pragma: no cover - a begun poller always has a cursor
            raise RuntimeError(f"district {self.district_id}: stepped without a cursor")
        if self._resync_reason is not None:
            await self._close_pages()
            reason, self._resync_reason = self._resync_reason, None
            self.cursor = await self._start_sync(RecordSource.RESYNC, reason, self._resync_cause)
            return 0.0
        if cursor.phase == CursorPhase.SYNCING:
            self.cursor = await self._sync_page(cursor)
            return 0.0
        # Polls are a wait apart from start to start: the request and the commit take their
        # time out of the wait, not on top of it.
        started = self._monotonic()
        self.cursor, wait = await self._poll_once(cursor)
        return max(0.0, wait - (self._monotonic() - started))

    def _silently_expired(self, cursor: PollerCursor) -> bool:
        """A cursor without an event ID that Clever could not refuse, yet may have outlived.

        With an event ID, Clever answers 404 once the event is gone. Without one (the district
        had no event when it was synced), polling starts at the oldest event Clever still has,
        and any older one would be skipped unseen: after longer than the window, resync.
        """
        return (
            cursor.phase == CursorPhase.POLLING
            and cursor.last_event_id is None
            and self._clock() - cursor.updated_at > self._options.event_window
        )

    async def _start_sync(
        self, source: RecordSource, reason: str, cause: SyncCause
    ) -> PollerCursor:
        request, self._pending_request = self._pending_request, None
        if request is not None:
            self.resync_request_id = request
        sync_id = self._new_sync_id()
        bookmark = await self._client.newest_event_id()
        now = self._clock()
        cursor = PollerCursor(
            district_id=self.district_id,
            api_version=self._api_version,
            phase=CursorPhase.SYNCING,
            last_event_id=bookmark,
            sync_id=sync_id,
            sync_role=SYNC_ROLES[0],
            sync_resume_after=None,
            sync_source=source,
            sync_records=0,
            resync_request_id=self.resync_request_id,
            updated_at=now,
        )
        started = sync_started_record(
            district_id=self.district_id,
            api_version=self._api_version,
            sync_id=sync_id,
            source=source,
            bookmark_event_id=bookmark,
            fetched_at=now,
        )
        await self._commit([started], cursor)
        if self._metrics is not None:
            self._metrics.resyncs.labels(self.district_id, cause).inc()
        self._backlog = 0
        logger.info(
            "district %s: %s %s started (%s), bookmark %s",
            self.district_id,
            source.lower(),
            sync_id,
            reason,
            bookmark,
        )
        return cursor

    async def _sync_page(self, cursor: PollerCursor) -> PollerCursor:
        """Publish the next page of ``cursor.sync_role``'s snapshot; after its last page, move
        to the next role, or complete the sync."""
        role = cursor.sync_role or SYNC_ROLES[0]
        source = cursor.sync_source or RecordSource.SYNC
        if self._pages is None:
            self._pages = read_ahead(
                self._client.snapshot_pages(
                    role,
                    starting_after=cursor.sync_resume_after,
                    limit=self._options.snapshot_page_size,
                )
            )
        try:
            page = await anext(self._pages, None)
        except BaseException:
            # The listing failed or was cancelled: the next step lists again from the cursor.
            await self._close_pages()
            raise
        if page is None:
            await self._close_pages()
            following = SYNC_ROLES.index(role) + 1 if role in SYNC_ROLES else len(SYNC_ROLES)
            if following < len(SYNC_ROLES):
                return replace(cursor, sync_role=SYNC_ROLES[following], sync_resume_after=None)
            return await self._complete_sync(cursor, source)
        self.last_polled = self._monotonic()
        now = self._clock()
        try:
            for records, dead_letters, last_id in self._snapshot_parts(page, cursor, source, now):
                cursor = replace(
                    cursor,
                    sync_resume_after=last_id or cursor.sync_resume_after,
                    sync_records=(cursor.sync_records or 0) + len(records),
                    updated_at=now,
                )
                await self._commit(records, cursor, dead_letters)
                self.cursor = cursor
        except BaseException:
            # The listing has moved past this page: the next step lists again from the cursor.
            await self._close_pages()
            raise
        return cursor

    async def _close_pages(self) -> None:
        pages, self._pages = self._pages, None
        if pages is not None:
            await pages.aclose()

    async def _complete_sync(self, cursor: PollerCursor, source: RecordSource) -> PollerCursor:
        now = self._clock()
        count = cursor.sync_records or 0
        completed = sync_completed_record(
            district_id=self.district_id,
            api_version=self._api_version,
            sync_id=cursor.sync_id or "",
            source=source,
            snapshot_records=count,
            fetched_at=now,
        )
        polling = PollerCursor(
            district_id=self.district_id,
            api_version=self._api_version,
            phase=CursorPhase.POLLING,
            last_event_id=cursor.last_event_id,
            sync_id=cursor.sync_id,
            sync_records=count,
            resync_request_id=cursor.resync_request_id,
            updated_at=now,
        )
        await self._commit([completed], polling)
        logger.info(
            "district %s: sync %s completed with %d records; polling after %s",
            self.district_id,
            cursor.sync_id,
            count,
            cursor.last_event_id,
        )
        return polling

    async def _poll_once(self, cursor: PollerCursor) -> tuple[PollerCursor, float]:
        """Poll one events page; the cursor after it, and the wait before the next poll."""
        limit = self._options.events_page_size
        try:
            page = await self._events_after(cursor.last_event_id)
        except CursorExpiredError:
            logger.warning(
                "district %s: Clever no longer has event %s (30-day window); resyncing",
                self.district_id,
                cursor.last_event_id,
            )
            self.request_resync("cursor expired", cause=SyncCause.CURSOR_EXPIRED)
            return cursor, 0.0
        self.last_polled = self._monotonic()
        if self._metrics is not None and page.size:
            self._metrics.events_fetched.labels(self.district_id).inc(page.size)
        stepped = 0
        if page.size:
            now = self._clock()
            records, dead_letters, last_id = self._event_page(page, now)
            stepped = len(records) + len(dead_letters)
            self._active(self.last_polled)
            if stepped:
                cursor = replace(cursor, last_event_id=last_id, updated_at=now)
                if page.size >= limit:
                    # More is waiting: fetch it while this page commits.
                    self._read_ahead(cursor.last_event_id)
                await self._commit(records, cursor, dead_letters)
                self._backlog += stepped
            if stepped < page.size:
                logger.warning(
                    "district %s: %d events at the end of the page after %s have no usable "
                    "ID; they wait for an event after them",
                    self.district_id,
                    page.size - stepped,
                    cursor.last_event_id,
                )
        # page.size counts entries that were not objects too: a full page means more to come,
        # unless none of it could be stepped over (polling again at once would loop).
        if page.size < limit or not stepped:
            self._backlog = 0
            return cursor, self._next_wait(self.last_polled)
        if self._backlog > max(self._options.rollover_min_events, cursor.sync_records or 0):
            logger.warning(
                "district %s: %d events behind and counting, more than its %s records: "
                "a rollover; resyncing",
                self.district_id,
                self._backlog,
                cursor.sync_records,
            )
            self.request_resync("rollover", cause=SyncCause.ROLLOVER)
        return cursor, 0.0

    def _active(self, now: float) -> None:
        """The district had an event: it is polled every interval again."""
        self._last_event_at = now
        self._quiet_wait = self._options.poll_interval_s

    def _next_wait(self, now: float) -> float:
        """The wait before the next poll of a caught-up district: the poll interval while it
        is active, then doubling with each quiet poll up to the idle interval."""
        options = self._options
        last = self._last_event_at
        if last is not None and now - last < options.active_for_s:
            return options.poll_interval_s
        wait = self._quiet_wait
        self._quiet_wait = min(wait * 2, max(options.idle_poll_interval_s, options.poll_interval_s))
        return wait

    async def _events_after(self, event_id: str | None) -> Page:
        """The page after ``event_id``: the one fetched ahead if it fits, else a new request."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            after, fetch = ahead
            if after == event_id and self._resync_reason is None:
                return await fetch
            fetch.cancel()
        return await self._client.events_after(event_id, limit=self._options.events_page_size)

    def _read_ahead(self, event_id: str | None) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
        fetch = asyncio.ensure_future(
            self._client.events_after(event_id, limit=self._options.events_page_size)
        )
        # Its failure is raised where it is awaited, or dropped with it if it never is.
        fetch.add_done_callback(_observe)
        self._ahead = (event_id, fetch)

    async def close(self) -> None:
        """Cancel the fetches still running ahead; the poller is done."""
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None
        await self._close_pages()

    async def _idle(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        await self._transactions.commit(records, cursor, dead_letters)
        self.commits += 1
        logger.info(
            "district %s: published %d records%s; cursor %s, event %s",
            self.district_id,
            len(records),
            f" and {len(dead_letters)} dead letters" if dead_letters else "",
            cursor.phase.lower(),
            cursor.last_event_id,
        )
        if self._metrics is not None:
            self._metrics.committed(cursor, records, dead_letters)

    def _event_page(
        self, page: Page, now: datetime
    ) -> tuple[list[RawCleverRecord], list[DeadLetter], str | None]:
        """The page's records and dead letters up to its last event with a usable ID, and
        that ID: the cursor after them.

        The cursor can step past an event only by an ID. A malformed event with an ID is
        dead-lettered and stepped past; one without is stepped past by the next event with
        one, so it is dead-lettered once. Those after the page's last ID are left for a
        later page, which starts after that ID and serves them again.
        """
        entries = page.entries()
        ids = [usable_id(entry.get("id")) if isinstance(entry, dict) else None for entry in entries]
        end = max((n + 1 for n, found in enumerate(ids) if found is not None), default=0)
        records: list[RawCleverRecord] = []
        dead_letters: list[DeadLetter] = []
        for item in entries[:end]:
            try:
                record = event_record(
                    item,
                    district_id=self.district_id,
                    api_version=self._api_version,
                    fetched_at=now,
                )
            except MalformedRecordError as error:
                dead_letters.append(self._dead_letter(item, error, "/events", now))
                continue
            records.append(record)
        return records, dead_letters, ids[end - 1] if end else None

    def _snapshot_parts(
        self, page: Page, cursor: PollerCursor, source: RecordSource, now: datetime
    ) -> Iterator[tuple[list[RawCleverRecord], list[DeadLetter], str | None]]:
        """The page's records and dead letters in parts of about ``sync_transaction_records``
        records, each with the ID of its last record: the cursor after it.

        A part ends on a record, so that its cursor steps past every item in it; a restart
        after a part lists the snapshot again after that ID. Small parts keep a shard's
        transactions short, so its other districts' pages never wait long behind a sync's.
        """
        record_type = "users" if self._api_version.startswith("v3") else f"{cursor.sync_role}s"
        limit = self._options.sync_transaction_records
        records: list[RawCleverRecord] = []
        dead_letters: list[DeadLetter] = []
        for item in page.entries():
            try:
                record = snapshot_record(
                    item,
                    district_id=self.district_id,
                    api_version=self._api_version,
                    record_type=record_type,
                    sync_id=cursor.sync_id or "",
                    source=source,
                    fetched_at=now,
                )
            except MalformedRecordError as error:
                dead_letters.append(self._dead_letter(item, error, f"/{record_type}", now))
                continue
            records.append(record)
            if len(records) >= limit:
                yield records, dead_letters, record.record_id
                records, dead_letters = [], []
        if records or dead_letters:
            yield records, dead_letters, records[-1].record_id if records else None

    def _dead_letter(
        self, item: Any, error: MalformedRecordError, path: str, now: datetime
    ) -> DeadLetter:
        logger.warning("district %s: a malformed item from %s: %s", self.district_id, path, error)
        original = json.dumps(item, separators=(",", ":"), default=str).encode()
        kept: bytes | None = original
        message = str(error)
        if len(original) + _LETTER_ROOM > MAX_RECORD_BYTES:
            # Kept whole, the letter would not fit in a Kafka record either.
            message += f"; its {len(original):,} bytes of JSON are left out of this letter"
            kept = None
        return DeadLetter(
            stage="poller",
            error_type=type(error).__name__,
            error_message=message,
            district_id=self.district_id,
            source_url=f"/{self._api_version}{path}",
            original_key=district_key(self.district_id),
            original_value=kept,
            failed_at=now,
        )


async def read_ahead(pages: AsyncIterator[Page]) -> AsyncGenerator[Page, None]:
    """``pages``, with the next one already being fetched while the caller commits this one.

    Clever's response time and Kafka's commit overlap instead of adding up; at most two pages
    are held at once, so memory stays bounded.
    """
    iterator = aiter(pages)
    pending: asyncio.Future[Page] = asyncio.ensure_future(anext(iterator))
    try:
        while True:
            try:
                page = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(iterator))
            yield page
    finally:
        pending.cancel()
        # wait() does not raise the fetch's own error (observed below), only our cancellation.
        await asyncio.wait([pending])
        if not pending.cancelled() and not isinstance(pending.exception(), StopAsyncIteration):
            pending.exception()
        closing = getattr(iterator, "aclose", None)
        if closing is not None:
            await closing()


def _observe(fetch: asyncio.Future[Page]) -> None:
    if not fetch.cancelled():
        fetch.exception()
