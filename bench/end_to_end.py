"""End to end from Clever's feed to the committed change, the whole pipeline as operators run it.

Per poll interval, on topics of its own:

1. the fake Clever, ``python -m clever_stream fake-clever``, serving ``districts`` districts
   and trickling random changes into each (``--trickle-interval``/``--trickle-batch``) at a
   steady ``rate`` across them; it stamps each event's ``created`` as it adds the batch to
   its feed, the moment the event appears there;
2. a worker, ``python -m streams worker`` (native engine, its default 0.1 s commits), and a
   poller, ``python -m connectors run`` with ``CLEVER_POLLER_POLL_INTERVAL_S`` set, each in a
   process of its own, waited for until their ``/ready`` says so;
3. a ``read_committed`` tail of the raw and the changes topics, from their ends, noting when
   each record became readable; once the poller has caught up (an event made after the
   tail started is published in every district) and one more poll interval passed, the
   timed window: ``window_s`` of trickle;
4. the drain: the poller past the window in every district, the worker's group committed
   past every raw record seen, the tail at the changes topic's last stable offset;
5. Clever's feed read back over HTTP: every event's ``created``. Each change whose cause
   event was created in the window is timed from that ``created`` (``bench.end_to_end_figures``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.end_to_end_figures import (
    ChangeSighting,
    EndToEndFigures,
    RawSighting,
    end_to_end_figures,
)
from bench.exceptions import BenchError
from bench.pipeline_config import bounded
from bench.pipeline_kafka import GroupOffsets, create_topics
from bench.pipeline_processes import Child, child, free_port, ready, worker
from bench.runs import bench_run
from connectors.mapping import parse_clever_time
from schemas.codec import default_codec
from schemas.records import PrivilegeChange, RawCleverRecord
from schemas.topics import PRIVILEGE_CHANGES, RAW_EVENTS

logger = logging.getLogger(__name__)
#: How long the tail's fetches wait for records: small, so it adds little to what it times.
_TAIL_WAIT_MS = 10
_CHECK_S = 0.2
_STARTUP_LINE = '{"base_url"'


@dataclass(frozen=True, kw_only=True)
class EndToEndConfig:
    """What the end-to-end run trickles, and for how long."""

    #: The poller's ``CLEVER_POLLER_POLL_INTERVAL_S`` of each run (5.0 is its default).
    poll_intervals: tuple[float, ...] = (1.0, 5.0)
    #: Events the window holds at least (at ``rate``); it spans ``min_polls`` intervals too.
    events: int = 600
    #: Events per second across every district.
    rate: float = 20.0
    districts: int = 5
    contacts: int = 100
    #: Events per district in each trickle batch (one Clever batch, one ``created``).
    batch: int = 2
    min_polls: int = 10
    partitions: int = 6
    #: The worker's default ``CLEVER_WORKER_COMMIT_INTERVAL_S``.
    commit_interval_s: float = 0.1
    timeout_s: float = 300.0
    seed: int = 1

    def window_s(self, poll_interval_s: float) -> float:
        """Seconds of trickle timed: ``events`` at ``rate``, and ``min_polls`` polls."""
        return max(self.events / self.rate, self.min_polls * poll_interval_s)

    @property
    def trickle_interval_s(self) -> float:
        """Seconds between the fake's batches for ``rate`` events a second in all."""
        return self.districts * self.batch / self.rate


async def run_end_to_end_bench(
    bootstrap_servers: str, config: EndToEndConfig
) -> tuple[EndToEndFigures, ...]:
    """One run per poll interval, on topics named after one tag, deleted at the end."""
    tag = f"bench-e2e-{uuid.uuid4().hex[:8]}"
    async with bench_run(bootstrap_servers, tag=tag, what="the end-to-end benchmark") as run:
        folder, offsets = run
        return await measure_end_to_end(
            bootstrap_servers, config, tag=tag, folder=folder, offsets=offsets
        )


async def measure_end_to_end(
    bootstrap_servers: str, config: EndToEndConfig, *, tag: str, folder: Path,
    offsets: GroupOffsets,
) -> tuple[EndToEndFigures, ...]:  # fmt: skip
    """Each of ``config.poll_intervals`` in turn, on topics under ``<tag>-e<n>``."""
    found = []
    for n, interval in enumerate(config.poll_intervals):
        figures = await _measure(
            bootstrap_servers, config, poll_interval_s=interval, prefix=f"{tag}-e{n}",
            folder=folder, offsets=offsets,
        )  # fmt: skip
        logger.info(
            "end to end at a %gs poll interval: %d changes of %d events, p50 %.0f ms, "
            "p99 %.0f ms, max %.0f ms (goal %.0f ms)",
            interval, len(figures.timed), figures.events, figures.p(50), figures.p(99),
            figures.p(100), figures.goal_ms,
        )  # fmt: skip
        found.append(figures)
    return tuple(found)


@dataclass(frozen=True, kw_only=True)
class _Pipeline:
    """The three processes of one run, each ready."""

    fake: Child
    worker: Child
    poller: Child
    base_url: str
    #: (district ID, token) of each district.
    districts: list[tuple[str, str]]
    #: The worker's app ID, its consumer group's.
    app_id: str


async def _measure(
    bootstrap_servers: str, config: EndToEndConfig, *, poll_interval_s: float, prefix: str,
    folder: Path, offsets: GroupOffsets,
) -> EndToEndFigures:  # fmt: skip
    window_s = config.window_s(poll_interval_s)
    drain_s = 30 + 3 * poll_interval_s
    what = f"end to end at a {poll_interval_s:g}s poll interval"
    raw_topic, changes_topic = RAW_EVENTS.name(prefix), PRIVILEGE_CHANGES.name(prefix)
    async with (
        bounded(what, config.timeout_s + window_s + 2 * drain_s),
        _pipeline(bootstrap_servers, config, poll_interval_s, prefix, folder) as run,
        _tailing(bootstrap_servers, raw_topic, changes_topic, config.partitions) as tail,
    ):
        wanted = {district for district, _ in run.districts}
        checks = (run.fake.check, run.worker.check, run.poller.check, tail.check)

        async def caught_up() -> bool:
            return tail.past(wanted, tail.started)

        # The backlog since the fake started is through once an event made after the tail
        # started is on the raw topic in every district; a poll interval more to settle.
        if not await _until(caught_up, checks, deadline=time.monotonic() + drain_s):
            raise BenchError(
                f"the poller of {prefix} did not catch up within {drain_s:.0f}s",
                hint="read its log and the fake Clever's in the run's folder",
            )
        await asyncio.sleep(poll_interval_s)
        start = time.time()
        cpu = (run.poller.cpu_seconds(), run.worker.cpu_seconds())
        await asyncio.sleep(window_s)
        end = time.time()
        poller_cpu = (run.poller.cpu_seconds() - cpu[0]) / window_s
        worker_cpu = (run.worker.cpu_seconds() - cpu[1]) / window_s
        await _drain(tail, offsets, wanted, end, app_id=run.app_id, raw_topic=raw_topic,
                     checks=checks, drain_s=drain_s)  # fmt: skip
        created = await _feed(run.base_url, run.districts)
    figures = end_to_end_figures(
        created=created, raw=tail.raw, changes=tail.changes, window=(start, end),
        poll_interval_s=poll_interval_s, districts=len(run.districts),
    )  # fmt: skip
    return replace(figures, poller_cpu_share=poller_cpu, worker_cpu_share=worker_cpu)


@asynccontextmanager
async def _pipeline(
    bootstrap_servers: str, config: EndToEndConfig, poll_interval_s: float, prefix: str,
    folder: Path,
) -> AsyncIterator[_Pipeline]:  # fmt: skip
    """The fake Clever trickling, a worker and a poller on topics under ``prefix``, each
    ready, until the block ends."""
    await create_topics(bootstrap_servers, prefix=prefix, partitions=config.partitions)
    async with AsyncExitStack() as stack:
        fake, hello = await stack.enter_async_context(_fake_clever(config, folder, prefix))
        districts = [(entry["id"], entry["token"]) for entry in hello["districts"]]
        worker_port, poller_port = free_port(), free_port()
        app_id = f"{prefix}-w"
        web = {"CLEVER_WORKER_WEB_ENABLED": "true", "CLEVER_WORKER_WEB_PORT": str(worker_port)}
        process = worker(
            bootstrap_servers, prefix=prefix, partitions=config.partitions, app_id=app_id,
            commit_interval_s=config.commit_interval_s, folder=folder, settings=web,
        )  # fmt: skip
        working = await stack.enter_async_context(process)
        env = _poller_env(
            bootstrap_servers, config, prefix=prefix, base_url=hello["base_url"],
            districts=districts, port=poller_port, poll_interval_s=poll_interval_s,
        )  # fmt: skip
        log = folder / f"{prefix}-poller.log"
        process = child("connectors", "run", env=env, log=log, what=f"the poller of {prefix}")
        polling = await stack.enter_async_context(process)
        await ready(worker_port, working)
        await ready(poller_port, polling)
        yield _Pipeline(
            fake=fake, worker=working, poller=polling, base_url=hello["base_url"],
            districts=districts, app_id=app_id,
        )  # fmt: skip


def _poller_env(
    bootstrap_servers: str, config: EndToEndConfig, *, prefix: str, base_url: str,
    districts: list[tuple[str, str]], port: int, poll_interval_s: float,
) -> dict[str, str]:  # fmt: skip
    """``python -m connectors run``'s environment: ours, less any CLEVER_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=str(config.partitions),
        CLEVER_POLLER_BASE_URL=base_url,
        CLEVER_POLLER_DISTRICTS=json.dumps(
            [{"token": token, "district_id": district} for district, token in districts]
        ),
        CLEVER_POLLER_HTTP_PORT=str(port),
        CLEVER_POLLER_POLL_INTERVAL_S=str(poll_interval_s),
    )
    return env


@asynccontextmanager
async def _fake_clever(
    config: EndToEndConfig, folder: Path, prefix: str
) -> AsyncIterator[tuple[Child, dict[str, Any]]]:
    """``clever-stream fake-clever`` trickling at ``config.rate``, and its startup line."""
    args = (
        "fake-clever", f"--seed={config.seed}", f"--districts={config.districts}",
        f"--contacts={config.contacts}", f"--trickle-interval={config.trickle_interval_s}",
        f"--trickle-batch={config.batch}",
    )  # fmt: skip
    log = folder / f"{prefix}-fake-clever.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    async with child("clever_stream", *args, env=env, log=log, what="the fake Clever") as fake:
        yield fake, await _startup_line(fake)


async def _startup_line(fake: Child) -> dict[str, Any]:
    """The fake's one line on stdout (its log holds stderr too), once it listens."""
    while True:
        fake.check()
        for line in fake.log.read_text(errors="replace").splitlines():
            if line.startswith(_STARTUP_LINE):
                hello: dict[str, Any] = json.loads(line)
                return hello
        await asyncio.sleep(_CHECK_S)


class _Tail:
    """What a ``read_committed`` consumer of the raw and changes topics saw, and when."""

    def __init__(
        self, consumer: AIOKafkaConsumer, raw_topic: str, changes_topic: str, partitions: int
    ) -> None:
        self.consumer = consumer
        self.raw_topic, self.changes_topic = raw_topic, changes_topic
        self._changes = [TopicPartition(changes_topic, p) for p in range(partitions)]
        self.raw: dict[str, RawSighting] = {}
        self.changes: list[ChangeSighting] = []
        #: District -> the newest ``created`` among its raw records seen.
        self.newest: dict[str, float] = {}
        #: Partition of the raw topic -> the offset after the last raw record seen.
        self.raw_ends: dict[int, int] = {}
        self.started = time.time()
        self.task: asyncio.Task[None] | None = None

    def check(self) -> None:
        """Raise the tail's error if it stopped reading."""
        if self.task is not None and self.task.done() and not self.task.cancelled():
            error = self.task.exception()
            raise BenchError(
                f"the benchmark's tail stopped reading: {error!r}",
                hint="a bug in the benchmark, or the broker went away",
            ) from error

    def past(self, districts: set[str], moment: float) -> bool:
        """Whether every district's raw records reached an event created after ``moment``."""
        return all(self.newest.get(district, 0.0) > moment for district in districts)

    async def run(self, stop: asyncio.Event) -> None:
        """Note every raw record and change as it becomes readable, until ``stop``."""
        decode = default_codec().decode
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=100)
            now = time.time()
            for partition, messages in batches.items():
                for message in messages:
                    if message.value is None:
                        continue
                    if partition.topic == self.changes_topic:
                        change = decode(message.value, PrivilegeChange)
                        self.changes.append(
                            ChangeSighting(change_id=change.change_id,
                                           cause=change.cause.clever_event_id, seen=now)
                        )  # fmt: skip
                        continue
                    self.raw_ends[partition.partition] = message.offset + 1
                    record = decode(message.value, RawCleverRecord)
                    if record.event_id is None or record.created_at is None:
                        continue  # a snapshot record or a sync's control record
                    created = record.created_at.timestamp()
                    self.raw.setdefault(record.event_id, RawSighting(
                        district_id=record.district_id, created=created,
                        fetched=record.fetched_at.timestamp(), seen=now,
                        partition=partition.partition, offset=message.offset,
                    ))  # fmt: skip
                    newest = self.newest.get(record.district_id, 0.0)
                    self.newest[record.district_id] = max(newest, created)

    async def at_last_stable_offsets(self) -> bool:
        """Whether the tail has read the changes topic up to its last stable offset now
        (``end_offsets`` under ``read_committed``): every committed change."""
        ends = await self.consumer.end_offsets(self._changes)
        for partition, end in ends.items():
            if await self.consumer.position(partition) < end:
                return False
        return True


@asynccontextmanager
async def _tailing(
    bootstrap_servers: str, raw_topic: str, changes_topic: str, partitions: int
) -> AsyncIterator[_Tail]:
    """A tail of both topics from their current ends, running until the block ends."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_wait_ms=_TAIL_WAIT_MS,
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for topic in (raw_topic, changes_topic)
                    for p in range(partitions)]  # fmt: skip
        consumer.assign(assigned)
        await consumer.seek_to_end(*assigned)
        for partition in assigned:
            await consumer.position(partition)  # resolved before anything is timed
        tail = _Tail(consumer, raw_topic, changes_topic, partitions)
        stop = asyncio.Event()
        reading = tail.task = asyncio.create_task(tail.run(stop))
        try:
            yield tail
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    finally:
        await consumer.stop()


async def _until(
    done: Callable[[], Awaitable[bool]], checks: Sequence[Callable[[], None]], *, deadline: float
) -> bool:
    """Wait until ``done()``, running ``checks`` (they raise if a child or the tail failed);
    False if the ``time.monotonic()`` ``deadline`` passed first."""
    while not await done():
        for check in checks:
            check()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_CHECK_S)
    return True


async def _drain(
    tail: _Tail, offsets: GroupOffsets, districts: set[str], end: float, *, app_id: str,
    raw_topic: str, checks: Sequence[Callable[[], None]], drain_s: float,
) -> None:  # fmt: skip
    """Until every change of the window is readable and read: the poller published past
    ``end`` in every district, the worker committed past each raw record seen by then, and
    the tail read the changes topic to its last stable offset. Events the poller did not
    publish in time are counted (as slowest), not waited for."""
    deadline = time.monotonic() + drain_s

    async def published() -> bool:
        return tail.past(districts, end)

    if not await _until(published, checks, deadline=deadline):
        logger.warning("the poller did not publish past the window within %.0fs", drain_s)
    ends = dict(tail.raw_ends)

    async def committed() -> bool:
        done = await offsets.committed(app_id, raw_topic)
        return all(done.get(partition, 0) >= at for partition, at in ends.items())

    if not await _until(committed, checks, deadline=deadline):
        raise BenchError(
            f"the worker {app_id} did not commit past the window within {drain_s:.0f}s",
            hint="read its log in the run's folder",
        )
    if not await _until(tail.at_last_stable_offsets, checks, deadline=deadline):
        raise BenchError(
            f"the changes of {app_id} were not all read within {drain_s:.0f}s",
            hint="a bug in the benchmark's tail",
        )


async def _feed(base_url: str, districts: list[tuple[str, str]]) -> dict[str, float]:
    """Event ID -> ``created`` (seconds since the epoch) of every event in Clever's feed."""
    created: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for _, token in districts:
            after: str | None = None
            while True:
                params = {"limit": "1000", **({"starting_after": after} if after else {})}
                response = await http.get(
                    "/v3.0/events", params=params, headers={"Authorization": f"Bearer {token}"}
                )
                response.raise_for_status()
                entries = response.json()["data"]
                if not entries:
                    break
                for entry in entries:
                    event = entry["data"]
                    moment = parse_clever_time(event.get("created"))
                    if moment is not None:
                        created[event["id"]] = moment.timestamp()
                after = entries[-1]["data"]["id"]
    return created
