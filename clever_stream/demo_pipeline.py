"""The demo's pipeline: a fake Clever district with a trickle of changes, the poller, a
privilege worker, and a tail of the privilege changes as a downstream consumer sees them.

Everything runs in the demo's own event loop, so Ctrl-C stops it all in order: the tail, the
poller (its open transaction aborted), the trickle, the worker, the fake Clever server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from rich.console import Console

from clever_stream.settings import CliSettings
from connectors.http import HttpOptions, new_http_client
from connectors.runner import PollerRunner
from connectors.settings import PollerSettings
from fakeclever import FakeClever, FakeDistrict
from schemas.codec import default_codec
from schemas.records import Privilege, PrivilegeChange
from schemas.topics import PRIVILEGE_CHANGES
from schemas.values import CauseKind, ChangeKind
from streams.engines import WorkerEngine, load_engine
from streams.service import prepare
from streams.settings import WorkerSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DemoDistrict:
    """The size and pace of the demo's fake district."""

    seed: int = 1
    contacts: int = 200
    trickle_interval_s: float = 2.0
    trickle_changes: int = 3


@dataclass(frozen=True)
class RunningPipeline:
    """What the demo prints about the pipeline it started."""

    clever_url: str
    district: FakeDistrict
    changes_topic: str
    views_url: str
    #: The privilege changes shown so far, by kind.
    totals: Counter[str]


@contextlib.asynccontextmanager
async def demo_pipeline(
    bootstrap_servers: str,
    settings: CliSettings,
    *,
    console: Console,
    shape: DemoDistrict,
    data_dir: Path,
) -> AsyncIterator[RunningPipeline]:
    """Start the fake Clever and its trickle, the poller, a worker and a tail of changes."""
    fake = FakeClever()
    district = fake.add_district(seed=shape.seed, contacts=shape.contacts)
    async with fake.serve(host="127.0.0.1", port=0) as clever_url:
        poller_settings = PollerSettings(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
            CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            CLEVER_STREAM_TOPIC_PARTITIONS=settings.topic_partitions,
            base_url=clever_url,
            districts=[{"token": district.token, "district_id": district.id}],
            poll_interval_s=1.0,
        )
        web_port = _free_port()
        worker_settings = WorkerSettings(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
            CLEVER_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            CLEVER_STREAM_TOPIC_PARTITIONS=settings.topic_partitions,
            data_dir=data_dir,
            web_port=web_port,
        )
        raw_partitions, replicas = await prepare(worker_settings)
        changes_topic = PRIVILEGE_CHANGES.name(settings.topic_prefix)
        engine = load_engine(worker_settings, raw_partitions=raw_partitions, replicas=replicas)
        async with (
            _started(engine) as worker,
            new_http_client(HttpOptions(base_url=clever_url)) as http,
            asyncio.TaskGroup() as group,
        ):
            runner = PollerRunner(
                poller_settings,
                http=http,
                bootstrap_servers=bootstrap_servers,
                codec=default_codec(),
            )
            totals: Counter[str] = Counter()
            tasks = [
                group.create_task(_until_failed(worker), name="worker"),
                group.create_task(runner.run(), name="poller"),
                group.create_task(_trickle(district, shape), name="trickle"),
                group.create_task(
                    _tail(bootstrap_servers, changes_topic, console, totals), name="tail"
                ),
            ]
            try:
                yield RunningPipeline(
                    clever_url=clever_url,
                    district=district,
                    changes_topic=changes_topic,
                    views_url=f"http://127.0.0.1:{web_port}/districts/{district.id}",
                    totals=totals,
                )
            finally:
                for task in tasks:
                    task.cancel()


@contextlib.asynccontextmanager
async def _started(engine: WorkerEngine) -> AsyncIterator[WorkerEngine]:
    """``engine`` started, stopped on exit."""
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def _until_failed(worker: WorkerEngine) -> None:
    """Wait on the worker: its failure ends the demo with its error."""
    await worker.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _trickle(district: FakeDistrict, shape: DemoDistrict) -> None:
    """A steady trickle of Clever changes, as a district's nightly SIS sync would bring, with
    Clever's and SIS data's quirks: events re-sent under their own IDs, students deleted
    while their contacts still list them and brought back, cosmetic rewrites."""
    round_ = 0
    while True:
        await asyncio.sleep(shape.trickle_interval_s)
        round_ += 1
        seed = shape.seed * 1_000_003 + round_
        district.random_changes(shape.trickle_changes, seed=seed, quirks=True)


async def _tail(bootstrap_servers: str, topic: str, console: Console, totals: Counter[str]) -> None:
    """Print each privilege change as a downstream read_committed consumer sees it."""
    codec = default_codec()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async for message in consumer:
            if message.value is None:  # the changes topic has no tombstones: nothing to show
                continue
            change = codec.decode(message.value, PrivilegeChange)
            totals[str(change.kind)] += 1
            console.print(_describe(change), highlight=False, soft_wrap=True)
    finally:
        await consumer.stop()


_COLOURS = {ChangeKind.GRANTED: "green", ChangeKind.REVOKED: "red", ChangeKind.CHANGED: "yellow"}


#: What the lines of the tail say, printed above them.
LEGEND = (
    "Each line is one privilege change a downstream service receives: [green]GRANTED[/green] "
    "(the contact may now see the student's records), [red]REVOKED[/red] (no longer), "
    "[yellow]CHANGED[/yellow] (the capacity changed: before -> after); the capacity is "
    "Clever's relationship / contact type, and the cause the Clever event or sync behind it."
)


def _capacity(privilege: Privilege | None) -> str:
    if privilege is None:
        return "-"
    return f"{privilege.relationship_raw or '-'} / {privilege.contact_type_raw or '-'}"


def _describe(change: PrivilegeChange) -> str:
    """One line per change, in plain words: IDs, capacities and cause, never a name, phone or
    email."""
    cause = change.cause
    why = (
        f"Clever event {cause.clever_event_id} ({cause.clever_event_type})"
        if cause.kind == CauseKind.CLEVER_EVENT
        else f"{cause.kind.lower()} {cause.sync_id}"
    )
    reissued = (
        f", reissued from contact {change.reissued_from_contact_id}"
        if change.reissued_from_contact_id
        else ""
    )
    who = f"contact {change.contact_id}"
    student = f"student {change.student_id}"
    if change.kind == ChangeKind.GRANTED:
        what = f"[green]GRANTED[/green]  {who} may now see {student} as {_capacity(change.after)}"
    elif change.kind == ChangeKind.REVOKED:
        what = (
            f"[red]REVOKED[/red]  {who} may no longer see {student} "
            f"(was {_capacity(change.before)})"
        )
    else:
        what = (
            f"[yellow]CHANGED[/yellow]  {who} sees {student} as {_capacity(change.before)} -> "
            f"{_capacity(change.after)}"
        )
    return f"{what}{reissued}; because of {why} (district {change.district_id})"
