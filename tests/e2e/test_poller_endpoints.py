"""The poller's /metrics, /health and /ready, scraped from a running `clever-stream poll`:
the counters move as Clever changes, a refused token shows on /ready and in the metrics, and
no token or personal value reaches a label."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeclever import FakeClever
from tests.e2e.processes import module_process, poller_env
from tests.integration.connectors.poller_harness import caught_up, poller_settings
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text page, by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


async def test_the_poller_serves_metrics_that_move_and_readiness_that_names_a_refused_token(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    good, refused = fake.add_district(seed=81, contacts=12), fake.add_district(seed=82, contacts=4)
    prefix = unique_name("endpoints")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with fake.serve() as clever_url, httpx.AsyncClient(base_url=base) as http:
        settings = poller_settings(bootstrap_servers, clever_url, prefix, [])
        env = poller_env(bootstrap_servers, clever_url, prefix, [good])
        env["CLEVER_POLLER_HTTP_PORT"] = str(port)
        env["CLEVER_POLLER_DISTRICTS"] = json.dumps(
            [
                {"token": good.token, "district_id": good.id},
                {"token": "not-the-token", "district_id": refused.id},
            ]
        )
        log = tmp_path / "poller.log"
        async with module_process("clever_stream", "-v", "poll", env=env, log=log) as process:
            await caught_up(settings, good)

            async def scraped_failing() -> (
                dict[tuple[str, frozenset[tuple[str, str]]], float] | None
            ):
                page = samples((await http.get("/metrics")).text)
                failing = value(page, "clever_poller_district_failing", district=refused.id)
                return page if failing == 1 else None

            before = await eventually(scraped_failing, timeout_s=60, what="the refused district")
            health = await http.get("/health")
            ready = await http.get("/ready")
            good.random_changes(5, seed=3)
            await caught_up(settings, good)

            # The counters that move as Clever changes.
            moving = [
                ("clever_poller_events_fetched_total", {"district": good.id}),
                ("clever_poller_pages_total", {"district": good.id}),
                ("clever_poller_records_published_total", {"district": good.id, "kind": "event"}),
            ]

            async def moved() -> Samples | None:
                # The cursor in Kafka moves a moment before the counters of its commit.
                page = samples((await http.get("/metrics")).text)
                grown = all(value(page, n, **ls) > value(before, n, **ls) for n, ls in moving)
                return page if grown else None

            after = await eventually(moved, timeout_s=30, what="the counters to move")
            raw_page = (await http.get("/metrics")).text
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0

    assert health.status_code == 200
    assert ready.status_code == 503
    states = {entry["district"]: entry for entry in ready.json()["districts"]}
    assert states[good.id]["state"] == "polling"
    assert states[refused.id]["state"] == "failing"
    assert states[refused.id]["detail"].startswith("since ")
    assert "CleverAuthError" in states[refused.id]["detail"]
    snapshot = value(
        before, "clever_poller_records_published_total", district=good.id, kind="snapshot"
    )
    assert snapshot > 0
    assert value(before, "clever_responses_total", status="401") >= 1
    assert value(before, "clever_poller_resyncs_total", district=good.id, cause="first_sync") == 1
    assert value(before, "clever_poller_cursor_age_seconds", district=good.id) >= 0
    assert value(after, "clever_request_duration_seconds_count", endpoint="events") > 0
    assert value(after, "clever_poller_last_event_timestamp_seconds", district=good.id) > 0
    assert "not-the-token" not in raw_page
    assert good.token not in raw_page
