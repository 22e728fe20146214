"""A deployment of the pipeline in this process, for the commands' tests to work against."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiokafka import AIOKafkaProducer

from fakeclever import FakeClever, FakeDistrict
from schemas.keys import district_key
from schemas.topics import RAW_EVENTS
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import running_worker, worker_settings


@contextlib.asynccontextmanager
async def live_deployment(
    bootstrap_servers: str, prefix: str, fake: FakeClever, district: FakeDistrict, data_dir: Path
) -> AsyncIterator[None]:
    """The poller and a worker of ``prefix`` over ``district``, caught up with it."""
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        worker = worker_settings(bootstrap_servers, prefix, None, data_dir)
        async with running_poller(poller), running_worker(worker):
            await caught_up(poller, district)
            yield


async def send_unreadable(bootstrap_servers: str, prefix: str, district_id: str) -> None:
    """A raw record of ``district_id`` that is no record at all: the worker dead-letters it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            RAW_EVENTS.name(prefix), key=district_key(district_id), value=b"not avro"
        )
    finally:
        await producer.stop()
