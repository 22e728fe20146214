"""Run the poller in-process against the fake Clever and the session's broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from connectors.cursors import read_cursor
from connectors.http import HttpOptions, new_http_client
from connectors.publisher import PollerTopics
from connectors.runner import PollerRunner
from connectors.settings import PollerSettings
from fakeclever import FakeDistrict
from schemas.codec import default_codec
from schemas.provision import ensure_pipeline_topics
from schemas.records import PollerCursor
from schemas.values import CursorPhase
from tests.waiting import eventually


def poller_settings(
    bootstrap_servers: str,
    base_url: str,
    prefix: str,
    districts: list[dict[str, Any]],
    **overrides: Any,
) -> PollerSettings:
    """Settings for a fast test run: short polls, small pages, quick retries."""
    values: dict[str, Any] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "CLEVER_STREAM_TOPIC_PREFIX": prefix,
        "CLEVER_STREAM_TOPIC_PARTITIONS": 3,
        "base_url": base_url,
        "districts": districts,
        "poll_interval_s": 0.1,
        "events_page_size": 25,
        "snapshot_page_size": 30,
        "retry_initial_backoff_s": 0.05,
        "retry_max_backoff_s": 0.2,
        "district_backoff_s": 0.2,
        "district_max_backoff_s": 1.0,
        "read_timeout_s": 2.0,
        "kafka_timeout_s": 30.0,
    }
    values.update(overrides)
    return PollerSettings(**values)


def district_entry(district: FakeDistrict, api_version: str = "v3.0") -> dict[str, Any]:
    """A CLEVER_POLLER_DISTRICTS entry for a fake district."""
    return {"token": district.token, "district_id": district.id, "api_version": api_version}


@contextlib.asynccontextmanager
async def running_poller(settings: PollerSettings) -> AsyncIterator[PollerRunner]:
    """The poller's runner as a task; cancelled (as SIGTERM does) on exit."""
    kafka = settings.kafka_connection()
    await ensure_pipeline_topics(kafka, settings, timeout_s=30)
    options = HttpOptions(
        base_url=settings.base_url,
        read_timeout_s=settings.read_timeout_s,
        instance_id=settings.instance_id,
    )
    async with new_http_client(options) as http:
        runner = PollerRunner(
            settings,
            http=http,
            kafka=kafka,
            codec=default_codec(),
        )
        task = asyncio.create_task(runner.run())
        try:
            yield runner
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def committed_cursor(settings: PollerSettings, district_id: str) -> PollerCursor | None:
    """The district's cursor as a restarted poller would read it."""
    return await read_cursor(
        settings.kafka_connection(),
        topic=PollerTopics.for_prefix(settings.topic_prefix).cursors,
        district_id=district_id,
        codec=default_codec(),
        timeout_s=30,
    )


async def caught_up(
    settings: PollerSettings,
    district: FakeDistrict,
    *,
    timeout_s: float = 60,
    api_version: str = "v3.0",
) -> PollerCursor:
    """Wait until the district's committed cursor polls after Clever's newest event."""
    newest = district.events(api_version=api_version)
    newest_id = newest[-1]["id"] if newest else None

    async def probe() -> PollerCursor | None:
        cursor = await committed_cursor(settings, district.id)
        if cursor is None or cursor.phase != CursorPhase.POLLING:
            return None
        return cursor if cursor.last_event_id == newest_id else None

    return await eventually(probe, timeout_s=timeout_s, what=f"district {district.id} caught up")
