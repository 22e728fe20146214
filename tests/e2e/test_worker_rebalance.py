"""Two ``python -m streams worker`` processes in one group share the districts; one leaves.

The raw topic has three partitions and the districts are picked to cover all three, so each
of the group's two workers owns some. Clever keeps changing while the second worker joins
and after the first is stopped: the survivor takes over the first one's partitions, recovers
their table state from the changelogs and carries on in order. In the end the state topic
and every district's replayed privilege changes equal Clever, each change committed once.

Who owns which partition is read from each worker's web server (the native engine's
``/router``, or Faust's own ``/router/<table>/``), which the query views route by; the query
views are asked through both. Both engines are proven.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections import Counter
from collections.abc import Callable
from itertools import count
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from fakeclever import FakeClever, FakeDistrict
from fakeclever.ids import derived_hex, district_tag
from schemas.topics import PRIVILEGE_CHANGES, PRIVILEGE_STATE, RAW_EVENTS
from streams.state.tables import CONTACTS
from tests.e2e.test_worker_process import worker_env, worker_process
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    Pair,
    converge,
    current_state,
    privilege_changes,
    replay,
    symbols,
)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

PARTITIONS = 3
#: Web port -> the raw (and changelog) partitions that worker owns.
Ownership = dict[int, frozenset[int]]


def free_port() -> int:
    """A port nothing listens on now (the OS picks it), for a worker's web server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def raw_partition(district_id: str) -> int:
    """The raw topic's partition of a district, as the poller's producer picks it."""
    partitions = list(range(PARTITIONS))
    partition: int = DefaultPartitioner()(district_id.encode(), partitions, partitions)
    return partition


def spread_districts(fake: FakeClever, how_many: int) -> list[FakeDistrict]:
    """``how_many`` (at least PARTITIONS) districts whose keys cover every raw partition."""
    by_partition: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    for n in count():
        district_id = derived_hex("rebalance-district", n)
        found = by_partition[raw_partition(district_id)]
        if not found or all(by_partition.values()):
            found.append(district_id)
        if sum(map(len, by_partition.values())) == how_many and all(by_partition.values()):
            break
    ids = sorted(i for found in by_partition.values() for i in found)
    return [fake.add_district(seed=500 + n, contacts=50, district_id=i) for n, i in enumerate(ids)]


async def ownership(web: httpx.AsyncClient, port: int, engine: str) -> Ownership | None:
    """Who owns which raw partition, as the worker on ``port`` was last told (or None)."""
    path = "/router" if engine == "native" else f"/router/{CONTACTS}/"
    try:
        response = await web.get(f"http://127.0.0.1:{port}{path}")
    except httpx.TransportError:
        return None  # not serving yet: Faust's web server starts after recovery
    if response.status_code != 200:
        return None
    found: dict[int, set[int]] = {}
    if engine == "native":
        for partition, url in response.json()["partitions"].items():
            if url is None:
                return None  # not assigned yet
            found.setdefault(httpx.URL(url).port or 80, set()).add(int(partition))
    else:
        for url, topics in response.json().items():
            partitions = {p for listed in topics.values() for p in listed}
            if partitions:
                found[httpx.URL(url).port or 80] = partitions
    return {port: frozenset(partitions) for port, partitions in found.items()}


async def open_transactions(bootstrap_servers: str, topics: list[str]) -> list[str]:
    """Partitions whose last stable offset lags their end: a transaction left open there.

    An open transaction holds back every ``read_committed`` reader of the partition, for
    every district whose records share it, until it ends.
    """
    ends: dict[str, dict[TopicPartition, int]] = {}
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, isolation_level=isolation)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
            ends[isolation] = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
    return [
        f"{tp.topic}[{tp.partition}] stable to {stable} of {ends['read_uncommitted'][tp]}"
        for tp, stable in ends["read_committed"].items()
        if stable < ends["read_uncommitted"][tp]
    ]


async def unacknowledged(bootstrap_servers: str, group: str, topic: str) -> list[str]:
    """Raw partitions whose committed group offset lags their last stable offset.

    A lag that stays says the owner stopped acknowledging (or processing) that partition.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        lagging = []
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None or committed < ends[tp]:
                lagging.append(f"{topic}[{tp.partition}] committed {committed} of {ends[tp]}")
        return lagging
    finally:
        await consumer.stop()


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_two_workers_share_the_districts_and_a_leaving_worker_hands_its_state_over(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path, engine: str
) -> None:
    fake = FakeClever()
    districts = spread_districts(fake, 4)
    prefix, app_id = unique_name("p"), unique_name("app")
    port_a, port_b = free_port(), free_port()
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"

    def env(name: str, port: int) -> dict[str, str]:
        values = worker_env(
            bootstrap_servers, prefix, app_id, tmp_path / f"worker-{name}", engine=engine
        )
        values.update(
            CLEVER_WORKER_WEB_ENABLED="true",
            CLEVER_WORKER_WEB_HOST="127.0.0.1",
            CLEVER_WORKER_WEB_PORT=str(port),
        )
        return values

    def truth() -> frozenset[Pair]:
        return frozenset().union(*(district.ground_truth() for district in districts))

    async def owners_agree(expected: Callable[[Ownership], bool], *ports: int) -> Ownership:
        """Wait until every worker on ``ports`` reports one and the same expected ownership."""

        async def probe() -> Ownership | None:
            seen = [await ownership(web, port, engine) for port in ports]
            first = seen[0]
            if first is None or any(other != first for other in seen):
                return None
            return first if expected(first) else None

        return await eventually(probe, timeout_s=60, what="the group's assignment")

    async def change_every_district(seed: int) -> None:
        for district in districts:
            district.random_changes(15, seed=seed)
        for district in districts:
            await caught_up(poller, district)

    async def views_answer_through(port: int) -> None:
        """Each district's students and contacts, asked of one worker whichever owns them."""
        for district in districts:
            known = district.ground_truth()
            student = sorted({pair[1] for pair in known})[0]
            contact = sorted({pair[0] for pair in known})[0]
            base = f"http://127.0.0.1:{port}/districts/{district.id}"
            response = await web.get(f"{base}/students/{student}/contacts")
            assert response.status_code == 200, response.text
            answered = {(c["contact_id"], student, c["relationship_raw"], c["contact_type_raw"])
                        for c in response.json()["contacts"]}  # fmt: skip
            assert answered == {pair for pair in known if pair[1] == student}, (port, district)
            response = await web.get(f"{base}/contacts/{contact}/students")
            assert response.status_code == 200, response.text
            answered = {(contact, s["student_id"], s["relationship_raw"], s["contact_type_raw"])
                        for s in response.json()["students"]}  # fmt: skip
            assert answered == {pair for pair in known if pair[0] == contact}, (port, district)

    async def diagnostics() -> str:
        """Per district, what the state topic and the replayed changes miss or have extra."""
        state = await current_state(bootstrap_servers, prefix)
        changes = await privilege_changes(bootstrap_servers, prefix)
        lines = []
        for district in districts:
            truth_ = district.ground_truth()
            tag = district_tag(district.id)
            held = frozenset(pair for pair in state if pair[0].startswith(tag))
            replayed, meant = replay(changes, district.id), symbols(truth_)
            lines.append(
                f"district {district.id} (partition {raw_partition(district.id)}): state "
                f"{len(truth_ - held)} missing, {len(held - truth_)} extra; replayed changes "
                f"{len(meant - replayed)} missing, {len(replayed - meant)} extra"
            )
        topics = [topic.name(prefix) for topic in (RAW_EVENTS, PRIVILEGE_CHANGES, PRIVILEGE_STATE)]
        lines += [
            f"open transaction: {o}" for o in await open_transactions(bootstrap_servers, topics)
        ]
        raw = RAW_EVENTS.name(prefix)
        lines += [
            f"unacknowledged: {u}" for u in await unacknowledged(bootstrap_servers, app_id, raw)
        ]
        tails = [f"--- {log.name}\n{log.read_text()[-3000:]}" for log in (log_a, log_b)]
        return "\n".join(lines + tails)

    async def settled() -> None:
        """Wait until the state topic equals Clever; on failure, say where and why."""
        try:
            await converge(bootstrap_servers, prefix, truth, timeout_s=60)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{await diagnostics()}") from None

    web = httpx.AsyncClient(timeout=10)
    async with web, fake.serve() as base_url:
        entries = [district_entry(district) for district in districts]
        poller = poller_settings(bootstrap_servers, base_url, prefix, entries)
        async with running_poller(poller), worker_process(env("a", port_a), log_a) as worker_a:
            alone = await owners_agree(lambda owners: set(owners) == {port_a}, port_a)
            assert alone[port_a] == frozenset(range(PARTITIONS))
            await settled()

            async with worker_process(env("b", port_b), log_b) as worker_b:
                # B joins: the group rebalances and each worker owns some partitions.
                shared = await owners_agree(
                    lambda owners: set(owners) == {port_a, port_b}, port_a, port_b
                )
                districts_of = {
                    port: [d.id for d in districts if raw_partition(d.id) in partitions]
                    for port, partitions in shared.items()
                }
                assert all(districts_of.values()), districts_of
                await change_every_district(seed=1)
                await settled()
                # Still the same split: each worker applied its own districts' changes.
                assert (
                    await ownership(web, port_a, engine)
                    == shared
                    == await ownership(web, port_b, engine)
                )
                await views_answer_through(port_a)
                await views_answer_through(port_b)

                # A leaves cleanly; B takes over A's districts with their table state.
                worker_a.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(worker_a.wait(), 60) == 0, await diagnostics()
                # B's router answers from the new assignment while B still recovers A's
                # tables: Clever's changes arrive during the takeover, as they would.
                await owners_agree(lambda owners: set(owners) == {port_b}, port_b)
                await change_every_district(seed=2)
                await settled()
                await views_answer_through(port_b)
                worker_b.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(worker_b.wait(), 60) == 0, await diagnostics()

    # B restored tables twice: its own share when it joined, everything when A left.
    restored = "taken: restoring" if engine == "native" else "Restore complete!"
    assert log_b.read_text().count(restored) >= 2
    changes = await privilege_changes(bootstrap_servers, prefix)
    repeated = [cid for cid, n in Counter(c.change_id for c in changes).items() if n > 1]
    assert not repeated, f"{len(repeated)} changes were committed more than once"
    for district in districts:
        assert replay(changes, district.id) == symbols(district.ground_truth()), district.id
