"""The district loop's decisions, against the fake Clever over HTTP, with Kafka replaced.

A recording stand-in for the transactional publisher keeps what each commit carried, so the
tests see exactly which records travel with which cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from connectors.client import CleverClient
from connectors.http import HttpOptions, new_http_client
from connectors.poller import DistrictPoller, PollOptions
from connectors.retry import RetryPolicy
from fakeclever import FakeClever, FakeDistrict
from schemas.records import DeadLetter, PollerCursor, RawCleverRecord
from schemas.values import CursorPhase, RawRecordKind, RecordSource
from tests.waiting import eventually


@dataclass
class Commit:
    records: list[RawCleverRecord]
    cursor: PollerCursor
    dead_letters: list[DeadLetter]


@dataclass
class RecordingTransactions:
    """Keeps every commit; can be told to fail the n-th one, as a broker would."""

    commits: list[Commit] = field(default_factory=list)

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        self.commits.append(Commit(list(records), cursor, list(dead_letters)))

    @property
    def records(self) -> list[RawCleverRecord]:
        return [record for commit in self.commits for record in commit.records]

    @property
    def cursor(self) -> PollerCursor | None:
        return self.commits[-1].cursor if self.commits else None


@contextlib.asynccontextmanager
async def polling(
    fake: FakeClever,
    district: FakeDistrict,
    *,
    cursor: PollerCursor | None = None,
    options: PollOptions | None = None,
    transactions: RecordingTransactions | None = None,
) -> AsyncIterator[tuple[DistrictPoller, RecordingTransactions]]:
    transactions = transactions or RecordingTransactions()
    async with fake.serve() as base_url, new_http_client(HttpOptions(base_url=base_url)) as http:
        client = CleverClient(
            http,
            token=district.token,
            retry=RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05),
        )
        poller = DistrictPoller(
            client,
            district_id=district.id,
            transactions=transactions,
            options=options
            or PollOptions(poll_interval_s=0.05, events_page_size=10, snapshot_page_size=15),
            cursor=cursor,
        )
        task = asyncio.create_task(poller.run())
        try:
            yield poller, transactions
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]


async def until_polling_after(transactions: RecordingTransactions, event_id: str | None) -> None:
    async def probe() -> bool:
        cursor = transactions.cursor
        return bool(
            cursor and cursor.phase == CursorPhase.POLLING and cursor.last_event_id == event_id
        )

    await eventually(probe, timeout_s=20, what=f"polling after {event_id}")


def newest(district: FakeDistrict) -> str | None:
    events = district.events()
    return events[-1]["id"] if events else None


async def test_every_page_travels_with_the_cursor_that_follows_it() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=1, contacts=40)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        district.random_changes(25, seed=1)
        await until_polling_after(transactions, newest(district))

    syncing = [c for c in transactions.commits if c.cursor.phase == CursorPhase.SYNCING]
    for commit in syncing[1:]:
        assert commit.cursor.sync_resume_after == commit.records[-1].record_id
    counts = [c.cursor.sync_records or 0 for c in syncing]
    assert counts == sorted(counts)
    for commit in transactions.commits:
        events = [r for r in commit.records if r.kind == RawRecordKind.EVENT]
        if events:
            assert commit.cursor.last_event_id == events[-1].event_id
            assert len(events) <= 10
    completed = transactions.commits[len(syncing)]
    assert completed.records[0].kind == RawRecordKind.SYNC_COMPLETED
    assert completed.records[0].snapshot_records == syncing[-1].cursor.sync_records


async def test_a_restart_mid_sync_carries_on_with_the_same_sync() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=2, contacts=40)
    students = list(district.student_ids())
    cursor = PollerCursor(
        district_id=district.id,
        api_version="v3.0",
        phase=CursorPhase.SYNCING,
        last_event_id=None,
        sync_id="sync-1",
        sync_role="student",
        sync_resume_after=students[4],
        sync_source=RecordSource.RESYNC,
        sync_records=5,
        updated_at=datetime.now(UTC),
    )
    async with polling(fake, district, cursor=cursor) as (_, transactions):
        await until_polling_after(transactions, None)

    snapshot = [r for r in transactions.records if r.kind == RawRecordKind.SNAPSHOT]
    assert [r.record_id for r in snapshot][: len(students) - 5] == students[5:]
    assert {r.sync_id for r in snapshot} == {"sync-1"}
    assert {r.source for r in snapshot} == {RecordSource.RESYNC}
    assert RawRecordKind.SYNC_STARTED not in {r.kind for r in transactions.records}
    completed = next(r for r in transactions.records if r.kind == RawRecordKind.SYNC_COMPLETED)
    assert completed.snapshot_records == 5 + len(snapshot)


async def test_an_expired_cursor_starts_a_resync_from_a_new_bookmark() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=3, contacts=30)
    district.random_changes(5, seed=3)
    stale = district.events()[2]["id"]
    district.expire_events()
    district.random_changes(5, seed=4)
    cursor = PollerCursor(
        district_id=district.id,
        api_version="v3.0",
        phase=CursorPhase.POLLING,
        last_event_id=stale,
        sync_id="old",
        sync_records=45,
        updated_at=datetime.now(UTC),
    )
    async with polling(fake, district, cursor=cursor) as (_, transactions):
        await until_polling_after(transactions, newest(district))

    first = transactions.records[0]
    assert first.kind == RawRecordKind.SYNC_STARTED
    assert first.source == RecordSource.RESYNC
    assert first.event_id == newest(district)
    assert first.sync_id != "old"


@pytest.mark.parametrize(
    ("age", "resyncs"), [(timedelta(days=1), False), (timedelta(days=31), True)]
)
async def test_a_cursor_without_an_event_resyncs_once_older_than_clevers_window(
    age: timedelta, resyncs: bool
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=7, contacts=20)
    district.random_changes(5, seed=7)  # Clever's oldest retained events: unseen before
    cursor = PollerCursor(
        district_id=district.id,
        api_version="v3.0",
        phase=CursorPhase.POLLING,
        last_event_id=None,
        sync_id="old",
        sync_records=30,
        updated_at=datetime.now(UTC) - age,
    )
    async with polling(fake, district, cursor=cursor) as (_, transactions):
        await until_polling_after(transactions, newest(district))

    sources = [r.source for r in transactions.records if r.kind == RawRecordKind.SYNC_STARTED]
    assert sources == ([RecordSource.RESYNC] if resyncs else [])


async def test_a_rollover_backlog_triggers_a_resync() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=4, contacts=20)
    options = PollOptions(
        poll_interval_s=0.05, events_page_size=10, snapshot_page_size=50, rollover_min_events=15
    )
    async with polling(fake, district, options=options) as (_, transactions):
        await until_polling_after(transactions, None)
        district.rollover(events=200)
        await until_polling_after(transactions, newest(district))

    starts = [r for r in transactions.records if r.kind == RawRecordKind.SYNC_STARTED]
    assert [r.source for r in starts] == [RecordSource.SYNC, RecordSource.RESYNC]
    events_before_resync = [
        r
        for r in transactions.records[: transactions.records.index(starts[1])]
        if r.kind == RawRecordKind.EVENT
    ]
    # It stopped reading the backlog soon after it exceeded the district's size.
    assert 15 < len(events_before_resync) < 200


async def test_an_operator_request_resyncs_at_the_next_page() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=5, contacts=30)
    async with polling(fake, district) as (poller, transactions):
        await until_polling_after(transactions, None)
        poller.request_resync("operator request")

        async def resynced() -> bool:
            return any(r.source == RecordSource.RESYNC for r in transactions.records)

        await eventually(resynced, timeout_s=20, what="the resync")
        await until_polling_after(transactions, None)


async def test_an_event_clever_sent_without_a_type_is_a_dead_letter_and_polling_goes_on() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=6, contacts=20)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        district.random_changes(3, seed=6)
        broken = district.events()[1]
        del broken["type"]
        await until_polling_after(transactions, newest(district))

    letters = [letter for c in transactions.commits for letter in c.dead_letters]
    assert len(letters) == 1
    assert letters[0].stage == "poller"
    assert letters[0].district_id == district.id
    assert broken["id"].encode() in (letters[0].original_value or b"")
    published = [r.event_id for r in transactions.records if r.kind == RawRecordKind.EVENT]
    assert broken["id"] not in published
    assert len(published) == len(district.events()) - 1


def letters_of(transactions: RecordingTransactions) -> list[DeadLetter]:
    return [letter for commit in transactions.commits for letter in commit.dead_letters]


def published_events(transactions: RecordingTransactions) -> list[str | None]:
    return [r.event_id for r in transactions.records if r.kind == RawRecordKind.EVENT]


async def test_list_entries_that_hold_no_event_are_dead_letters_not_dropped() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=8, contacts=20)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        district.random_changes(2, seed=8)
        served = [
            district.inject_event(5, wrapped=False),
            district.inject_event("users.created"),
            district.inject_event(None),
        ]
        district.random_changes(2, seed=9)
        await until_polling_after(transactions, newest(district))

    letters = letters_of(transactions)
    assert [json.loads(letter.original_value or b"") for letter in letters] == served
    assert {letter.error_type for letter in letters} == {"MalformedRecordError"}
    assert published_events(transactions) == [e["id"] for e in district.events()]


async def test_an_event_without_an_id_at_the_end_is_dead_lettered_once_when_one_follows() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=9, contacts=20)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        district.random_changes(2, seed=9)
        await until_polling_after(transactions, newest(district))
        served_before = len(fake.requests)
        district.inject_event({"type": "users.created", "data": {"object": {"id": "u"}}})

        async def polled_thrice() -> bool:
            polls = [r for r in list(fake.requests)[served_before:] if "/events?" in r[1]]
            return len(polls) >= 3

        # Clever serves it at the end of every poll until an event comes after it.
        await eventually(polled_thrice, timeout_s=20, what="three polls")
        assert letters_of(transactions) == []
        district.random_changes(1, seed=10)
        await until_polling_after(transactions, newest(district))

    [letter] = letters_of(transactions)
    assert b"users.created" in (letter.original_value or b"")
    assert published_events(transactions) == [e["id"] for e in district.events()]


async def test_an_event_too_large_for_a_kafka_record_is_a_dead_letter_without_its_json() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=10, contacts=20)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        district.random_changes(3, seed=10)
        huge = district.events()[1]
        huge["data"]["object"]["name"] = {"last": "x" * 1_100_000}
        await until_polling_after(transactions, newest(district))

    [letter] = letters_of(transactions)
    assert letter.error_type == "RecordTooLargeError"
    assert letter.original_value is None
    assert "left out of this letter" in letter.error_message
    assert huge["id"] in letter.error_message
    published = published_events(transactions)
    assert published == [e["id"] for e in district.events() if e is not huge]


async def test_a_single_object_envelope_where_events_were_asked_is_retried_not_filed() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=11, contacts=20)
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)
        stray = {"data": {"id": "stray", "type": "users.created", "data": {"object": {}}}}
        fake.faults.add("envelope", times=2, path_prefix="/v3.0/events", body=stray)
        district.random_changes(3, seed=11)
        await until_polling_after(transactions, newest(district))

    assert letters_of(transactions) == []
    assert published_events(transactions) == [e["id"] for e in district.events()]


async def test_a_snapshot_page_with_a_next_link_without_uri_is_retried_the_sync_whole() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=12, contacts=40)
    students = list(district.student_ids())
    assert len(students) > 15  # a full first page, with a next link
    fake.faults.add("links", times=2, path_prefix="/v3.0/users")
    async with polling(fake, district) as (_, transactions):
        await until_polling_after(transactions, None)

    snapshot = [r.record_id for r in transactions.records if r.kind == RawRecordKind.SNAPSHOT]
    assert snapshot == [*students, *district.contact_ids()]


async def test_a_quiet_district_is_polled_less_and_less_often_and_an_event_makes_it_active() -> (
    None
):
    fake = FakeClever()
    district = fake.add_district(seed=14, contacts=10)
    now = [0.0]
    transactions = RecordingTransactions()
    options = PollOptions(
        poll_interval_s=1.0,
        active_for_s=10.0,
        idle_poll_interval_s=8.0,
        events_page_size=10,
        snapshot_page_size=15,
    )
    async with fake.serve() as base_url, new_http_client(HttpOptions(base_url=base_url)) as http:
        client = CleverClient(http, token=district.token)
        poller = DistrictPoller(
            client,
            district_id=district.id,
            transactions=transactions,
            options=options,
            monotonic=lambda: now[0],
        )
        while (await poller.step()) == 0:
            pass  # the sync, a page per step
        assert poller.cursor is not None
        assert poller.cursor.phase == CursorPhase.POLLING
        # Quiet since it started: each quiet poll doubles the wait, up to the idle interval.
        quiet = [await poller.step() for _ in range(4)]
        assert quiet == [2.0, 4.0, 8.0, 8.0]
        district.random_changes(3, seed=5)
        now[0] += 100
        # An event: polled every interval while it had one in the last active_for_s.
        assert await poller.step() == 1.0
        now[0] += 5
        assert await poller.step() == 1.0
        now[0] += 6
        assert [await poller.step() for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
        await poller.close()


async def test_a_snapshot_page_is_committed_in_parts_each_with_the_cursor_after_it() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=15, contacts=40)
    options = PollOptions(
        poll_interval_s=0.05, events_page_size=10, snapshot_page_size=15, sync_transaction_records=4
    )
    async with polling(fake, district, options=options) as (_, transactions):
        await until_polling_after(transactions, newest(district))

    syncing = [c for c in transactions.commits if c.cursor.phase == CursorPhase.SYNCING]
    snapshot_parts = [
        c for c in syncing if c.records and c.records[0].kind == RawRecordKind.SNAPSHOT
    ]
    assert snapshot_parts
    assert all(len(c.records) <= 4 for c in snapshot_parts)
    for commit in snapshot_parts:
        assert commit.cursor.sync_resume_after == commit.records[-1].record_id
    published = [r.record_id for c in snapshot_parts for r in c.records]
    assert len(published) == len(set(published)) == syncing[-1].cursor.sync_records
    assert len(published) == len(list(district.student_ids())) + 40


async def test_polls_are_a_poll_interval_apart_from_start_to_start() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=15, contacts=10)
    now = [0.0]
    commit_takes = [0.0]

    class SlowTransactions(RecordingTransactions):
        async def commit(
            self,
            records: Sequence[RawCleverRecord],
            cursor: PollerCursor,
            dead_letters: Sequence[DeadLetter] = (),
        ) -> None:
            await super().commit(records, cursor, dead_letters)
            now[0] += commit_takes[0]  # the broker's time, on the poller's clock

    options = PollOptions(
        poll_interval_s=1.0, active_for_s=10.0, events_page_size=10, snapshot_page_size=15
    )
    async with fake.serve() as base_url, new_http_client(HttpOptions(base_url=base_url)) as http:
        poller = DistrictPoller(
            CleverClient(http, token=district.token),
            district_id=district.id,
            transactions=SlowTransactions(),
            options=options,
            monotonic=lambda: now[0],
        )
        while (await poller.step()) == 0:
            pass  # the sync
        commit_takes[0] = 0.25
        district.random_changes(2, seed=6)
        # The poll and its commit took 0.25 s of the interval: the next is 0.75 s after.
        assert await poller.step() == 0.75
        commit_takes[0] = 1.5
        district.random_changes(2, seed=7)
        # A poll that took longer than the interval is followed by the next at once.
        assert await poller.step() == 0.0
        await poller.close()
