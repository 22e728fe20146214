"""The poller against the fake Clever (real HTTP) and the real broker."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from connectors.publisher import PollerTopics
from fakeclever import FakeClever, FakeDistrict
from schemas.records import RawCleverRecord
from schemas.values import RawRecordKind, RecordSource
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.raw_stream import fold_pairs, of_district, read_raw
from tests.waiting import eventually

pytestmark = pytest.mark.integration


def kinds(records: list[RawCleverRecord]) -> list[RawRecordKind]:
    return [record.kind for record in records]


def event_ids(records: list[RawCleverRecord]) -> list[str]:
    return [r.event_id for r in records if r.kind == RawRecordKind.EVENT and r.event_id]


def change_some(district: FakeDistrict, seed: int, count: int = 12) -> None:
    district.random_changes(count, seed=seed)


async def test_initial_sync_then_events_in_clevers_order_keyed_by_district(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=11, contacts=70)
    change_some(district, seed=1)  # events before the bookmark: covered by the snapshot
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers, base_url, unique_name("p"), [district_entry(district)]
        )
        async with running_poller(settings):
            await caught_up(settings, district)
            change_some(district, seed=2)
            await caught_up(settings, district)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    assert {key for _, key, _ in raw} == {district.id}
    assert len({partition for partition, _, _ in raw}) == 1
    records = of_district(raw, district.id)
    sync_end = kinds(records).index(RawRecordKind.SYNC_COMPLETED)
    started, snapshot, completed = records[0], records[1:sync_end], records[sync_end]
    assert started.kind == RawRecordKind.SYNC_STARTED
    assert started.source == RecordSource.SYNC
    assert started.event_id == district.events()[11]["id"]  # the bookmark: newest before sync
    assert {r.kind for r in snapshot} == {RawRecordKind.SNAPSHOT}
    snapshot_ids = [r.record_id for r in snapshot]
    assert len(snapshot_ids) == len(set(snapshot_ids)) == completed.snapshot_records
    assert {r.sync_id for r in [started, *snapshot, completed]} == {started.sync_id}
    assert event_ids(records[sync_end + 1 :]) == [e["id"] for e in district.events()[12:]]
    first_event = json.loads(records[sync_end + 1].clever_json or "{}")
    assert first_event == district.events()[12]  # the whole event, every field kept
    assert fold_pairs(records) == district.ground_truth()


async def test_two_districts_share_a_partition_without_mixing_their_order(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    first = fake.add_district(seed=21, contacts=40)
    second = fake.add_district(seed=22, contacts=40)
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers,
            base_url,
            unique_name("p"),
            [district_entry(first), district_entry(second)],
            CLEVER_STREAM_TOPIC_PARTITIONS=1,
        )
        async with running_poller(settings):
            await caught_up(settings, first)
            await caught_up(settings, second)
            for round_ in range(3):
                change_some(first, seed=round_)
                change_some(second, seed=100 + round_)
                await caught_up(settings, first)
                await caught_up(settings, second)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    assert {partition for partition, _, _ in raw} == {0}
    for district in (first, second):
        records = of_district(raw, district.id)
        assert {key for _, key, r in raw if r.district_id == district.id} == {district.id}
        assert event_ids(records) == [e["id"] for e in district.events()]
        assert fold_pairs(records) == district.ground_truth()


async def test_rate_limits_server_errors_timeouts_and_broken_bodies_lose_nothing(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=31, contacts=60)
    fake.faults.add("rate_limit", times=2, path_prefix="/v3.0/users", retry_after=0.1)
    fake.faults.add("server_error", times=2, path_prefix="/v3.0/users", status=503)
    fake.faults.add("truncate", times=1, path_prefix="/v3.0/users")
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers,
            base_url,
            unique_name("p"),
            [district_entry(district)],
            read_timeout_s=0.5,
        )
        async with running_poller(settings) as runner:
            await caught_up(settings, district)
            change_some(district, seed=3, count=30)
            fake.faults.add("slow", times=1, path_prefix="/v3.0/events", delay=1.5)
            fake.faults.add("server_error", times=3, path_prefix="/v3.0/events", status=500)
            fake.faults.add("html", times=1, path_prefix="/v3.0/events")
            fake.faults.add("rate_limit", times=1, path_prefix="/v3.0/events", retry_after=0.1)
            await caught_up(settings, district)
            assert [status.fenced for status in runner.status] == [False]
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    records = of_district(raw, district.id)
    assert kinds(records).count(RawRecordKind.SYNC_STARTED) == 1
    assert event_ids(records) == [e["id"] for e in district.events()]
    snapshot_ids = [r.record_id for r in records if r.kind == RawRecordKind.SNAPSHOT]
    assert len(snapshot_ids) == len(set(snapshot_ids))
    assert fold_pairs(records) == district.ground_truth()
    statuses = Counter(status for _, path, status in fake.requests)
    assert statuses[429] >= 3
    assert statuses[503] >= 2
    assert statuses[500] >= 3


async def test_an_expired_cursor_resyncs_with_no_gap(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=41, contacts=50)
    change_some(district, seed=3, count=5)  # so the cursor names an event Clever can forget
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers, base_url, unique_name("p"), [district_entry(district)]
        )
        async with running_poller(settings):
            await caught_up(settings, district)
        # While no poller runs, Clever changes the district and 30 days pass.
        change_some(district, seed=4, count=20)
        district.expire_events()
        change_some(district, seed=5, count=10)
        async with running_poller(settings):
            await caught_up(settings, district)
            change_some(district, seed=6, count=10)
            await caught_up(settings, district)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    records = of_district(raw, district.id)
    starts = [r for r in records if r.kind == RawRecordKind.SYNC_STARTED]
    assert [r.source for r in starts] == [RecordSource.SYNC, RecordSource.RESYNC]
    resync_at = records.index(starts[1])
    completed = kinds(records).index(RawRecordKind.SYNC_COMPLETED, resync_at)
    bookmark = starts[1].event_id
    retained = [e["id"] for e in district.events()]
    after_bookmark = retained[retained.index(bookmark) + 1 :] if bookmark else retained
    assert event_ids(records[completed + 1 :]) == after_bookmark
    assert fold_pairs(records) == district.ground_truth()


async def test_repeated_clever_events_are_carried_as_clever_sent_them(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=51, contacts=30)
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers, base_url, unique_name("p"), [district_entry(district)]
        )
        async with running_poller(settings):
            await caught_up(settings, district)
            change_some(district, seed=7, count=5)
            district.repeat_events(3)
            await caught_up(settings, district)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    events = [r for r in of_district(raw, district.id) if r.kind == RawRecordKind.EVENT]
    originals, repeats = events[-6:-3], events[-3:]
    for original, repeat in zip(originals, repeats, strict=True):
        assert repeat.event_id != original.event_id
        assert (repeat.event_type, repeat.record_id) == (original.event_type, original.record_id)
        sent = json.loads(repeat.clever_json or "{}")
        assert sent["data"] == json.loads(original.clever_json or "{}")["data"]


async def test_a_v2_1_district_syncs_contacts_and_students_and_polls_contacts_events(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=61, contacts=30)
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers,
            base_url,
            unique_name("p"),
            [district_entry(district, api_version="v2.1")],
        )
        async with running_poller(settings):
            await caught_up(settings, district, api_version="v2.1")
            change_some(district, seed=8, count=10)
            await caught_up(settings, district, api_version="v2.1")
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    records = of_district(raw, district.id)
    assert {r.api_version for r in records} == {"v2.1"}
    snapshot_types = Counter(r.record_type for r in records if r.kind == RawRecordKind.SNAPSHOT)
    assert set(snapshot_types) == {"students", "contacts"}
    assert event_ids(records) == [e["id"] for e in district.events(api_version="v2.1")]
    assert {r.record_type for r in records if r.kind == RawRecordKind.EVENT} <= {
        "contacts",
        "students",
    }


async def test_two_pollers_share_the_shards_and_a_leaving_one_hands_its_districts_over(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    districts = [fake.add_district(seed=71 + n, contacts=20) for n in range(6)]
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers,
            base_url,
            unique_name("p"),
            [district_entry(district) for district in districts],
        )
        async with running_poller(settings) as first:
            for district in districts:
                await caught_up(settings, district)
            async with running_poller(settings) as second:

                async def shared() -> bool:
                    return bool(first.shards and second.shards) and (
                        first.shards | second.shards == frozenset(range(12))
                    )

                await eventually(shared, timeout_s=30, what="the shards shared")
                assert not first.shards & second.shards
                for n, district in enumerate(districts):
                    change_some(district, seed=9 + n, count=5)
                for district in districts:
                    await caught_up(settings, district)
                owners = [
                    [s.owned for s in first.status].count(True),
                    [s.owned for s in second.status].count(True),
                ]
                assert sum(owners) == len(districts)
            # The second left: the first takes every shard back.

            async def all_back() -> bool:
                return first.shards == frozenset(range(12))

            await eventually(all_back, timeout_s=30, what="the shards back with the first")
            for n, district in enumerate(districts):
                change_some(district, seed=19 + n, count=5)
            for district in districts:
                await caught_up(settings, district)
            assert not any(s.fenced for s in first.status)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    for district in districts:
        records = of_district(raw, district.id)
        assert event_ids(records) == [e["id"] for e in district.events()]
        assert kinds(records).count(RawRecordKind.SYNC_STARTED) == 1


async def test_one_districts_failures_do_not_stop_the_others(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    fake = FakeClever()
    healthy = fake.add_district(seed=91, contacts=30)
    refused = fake.add_district(seed=92, contacts=30)
    failing = fake.add_district(seed=93, contacts=30)
    fake.faults.add("server_error", times=1_000_000, district_id=failing.id, status=503)
    wrong_token = {**district_entry(refused), "token": "not-the-token"}
    async with fake.serve() as base_url:
        settings = poller_settings(
            bootstrap_servers,
            base_url,
            unique_name("p"),
            [district_entry(healthy), wrong_token, district_entry(failing)],
            retry_max_attempts=2,
        )
        async with running_poller(settings) as runner:
            await caught_up(settings, healthy)
            change_some(healthy, seed=11, count=10)
            await caught_up(settings, healthy)

            async def both_retried() -> bool:
                _, auth, unavailable = runner.status
                return auth.failures >= 2 and unavailable.failures >= 2

            await eventually(both_retried, timeout_s=30, what="the failing districts retried")
            _, auth, unavailable = runner.status
            assert auth.last_error == "CleverAuthError"
            assert unavailable.last_error == "CleverUnavailableError"
            # Once Clever answers again, the failing district catches up by itself.
            fake.faults.clear()
            await caught_up(settings, failing)
    raw = await read_raw(bootstrap_servers, PollerTopics.for_prefix(settings.topic_prefix).raw)

    assert of_district(raw, refused.id) == []
    assert event_ids(of_district(raw, healthy.id)) == [e["id"] for e in healthy.events()]
