"""Issue 19's fleet benchmark: one poller process serving thousands of districts.

Per number of districts, on topics of its own:

1. the fake Clever, ``python -m clever_stream fake-clever``, in a process of its own: ``n``
   small districts, the first 1% of them busy (their trickle held until phase 2), and one big
   district (``big_contacts``) that the poller does not know yet;
2. one poller, ``python -m connectors run``, its districts in ``CLEVER_POLLER_DISTRICTS_FILE``
   (re-read every ``CLEVER_POLLER_DISTRICTS_REFRESH_S``), waited for until ``/ready`` says
   every district polls;
3. phase 1, idle: over ``idle_s``, its CPU time; then its memory, threads, descriptors and
   Kafka connections from ``/proc``, and its asyncio tasks and owned districts and shards
   from ``/metrics``;
4. phase 2, busy: a ``read_committed`` tail of the raw topic from its end; the big district
   added to the districts file, the trickle started (SIGUSR1), one event made in a sample of
   idle districts (``POST /_fake/changes``); the stretch lasts the idle interval plus
   ``busy_s`` at least and until the big sync completed (or gave no sign of starting). A
   busy district's events are timed from its first one read on (``busy_latencies``). Then
   the drain, the busy districts' feeds read back, the peak memory (``VmHWM``) and the fake's
   request statistics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from bench.exceptions import BenchError
from bench.fleet_figures import FleetFigures, busy_latencies, busy_stretches, mib
from bench.fleet_tail import RawTail, raw_tail
from bench.pipeline_config import bounded
from bench.pipeline_kafka import create_topics
from bench.pipeline_processes import Child, child, free_port, ready
from bench.proc_stats import broker_ports, connections_to, descriptors, metric_value
from bench.runs import bench_run
from connectors.mapping import parse_clever_time
from connectors.settings import PollerSettings
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)
_CHECK_S = 0.5
_HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class FleetConfig:
    """What the fleet benchmark serves, and how long it watches."""

    #: Small districts of each case, one poller serving them all.
    districts: tuple[int, ...] = (1_000, 10_000)
    contacts: int = 5
    #: Contacts of the big district added in phase 2 (the records are generated lazily).
    big_contacts: int = 1_000_000
    busy_share: float = 0.01
    trickle_interval_s: float = 3.0
    trickle_batch: int = 2
    #: Seconds of the idle stretch (phase 1): long enough for quiet districts' waits to grow
    #: to the idle poll interval (60 s by default, reached after about 75 s of doubling).
    idle_s: float = 120.0
    #: Seconds of busy events timed at least: phase 2 lasts this beyond the idle interval
    #: (a busy district's first event waits up to that long; its events after it are timed).
    busy_s: float = 60.0
    #: Idle districts woken with one event each in phase 2.
    idle_sample: int = 20
    partitions: int = 6
    #: The poller's ``CLEVER_POLLER_DISTRICTS_REFRESH_S``.
    refresh_s: float = 5.0
    #: Seconds any one case may take before the run fails.
    timeout_s: float = 1800.0
    seed: int = 1


def poller_intervals() -> tuple[float, float]:
    """The poller's default poll interval and idle poll interval (its poll interval while it
    has no idle one), from its settings: the documented figures the goals are judged by."""
    defaults = PollerSettings.model_construct()  # the defaults, no environment read
    poll = float(defaults.poll_interval_s)
    idle: Any = getattr(defaults, "effective_idle_poll_interval_s", poll)
    return poll, float(idle() if callable(idle) else idle)


async def run_fleet_bench(bootstrap_servers: str, config: FleetConfig) -> list[FleetFigures]:
    """One case per number of districts, on topics named after one tag, deleted at the end."""
    tag = f"bench-fleet-{uuid.uuid4().hex[:8]}"
    found = []
    async with bench_run(bootstrap_servers, tag=tag, what="the fleet benchmark") as (folder, _):
        for count in config.districts:
            figures = await _measure(
                bootstrap_servers, config, count=count, prefix=f"{tag}-{count}", folder=folder
            )
            logger.info(
                "fleet of %d districts: RSS %.0f MiB (peak %.0f), %d Kafka connections, "
                "%d busy events timed, busiest minute %d requests",
                count, figures.rss_mib, figures.peak_rss_mib, figures.kafka_connections,
                len(figures.busy_ms), figures.busiest_minute,
            )  # fmt: skip
            found.append(figures)
    return found


async def _measure(
    bootstrap_servers: str, config: FleetConfig, *, count: int, prefix: str, folder: Path
) -> FleetFigures:
    poll_s, idle_interval_s = poller_intervals()
    what = f"the fleet of {count:,} districts"
    await create_topics(bootstrap_servers, prefix=prefix, partitions=config.partitions)
    districts_file = folder / f"{prefix}-districts.json"
    port = free_port()
    async with (
        bounded(what, config.timeout_s),
        _fake_clever(config, count=count, folder=folder, prefix=prefix) as (fake, startup),
    ):
        small, big = startup["districts"], startup["big"]
        write_districts(districts_file, small)
        env = _poller_env(
            bootstrap_servers, config, prefix=prefix, base_url=startup["base_url"],
            districts_file=districts_file, port=port,
        )  # fmt: skip
        log = folder / f"{prefix}-poller.log"
        async with child("connectors", "run", env=env, log=log, what=f"the poller of {what}") as (
            poller
        ):
            started = time.monotonic()
            await ready(port, poller, poll_s=_CHECK_S)
            ready_s = time.monotonic() - started
            logger.info("%s: ready after %.1fs; idle for %.0fs", what, ready_s, config.idle_s)
            cpu = poller.cpu_seconds()
            await asyncio.sleep(config.idle_s)
            idle_cpu = (poller.cpu_seconds() - cpu) / config.idle_s
            pid = poller.process.pid
            fds = descriptors(pid)
            metrics = await _metrics(port)
            idle = FleetFigures(
                districts=count,
                brokers=len(bootstrap_servers.split(",")),
                poll_interval_s=poll_s,
                idle_interval_s=idle_interval_s,
                ready_s=ready_s,
                rss_mib=mib(poller.status("VmRSS")),
                threads=poller.status("Threads"),
                descriptors=len(fds),
                kafka_connections=connections_to(pid, broker_ports(bootstrap_servers)),
                tasks=metric_value(metrics, "clever_poller_tasks"),
                districts_owned=metric_value(metrics, "clever_poller_districts_owned"),
                shards_owned=metric_value(metrics, "clever_poller_shards_owned"),
                idle_cpu_share=idle_cpu,
                big_contacts=config.big_contacts,
            )
            return await _busy_phase(
                bootstrap_servers, config, idle, prefix=prefix, poller=poller, fake=fake,
                startup=startup, districts_file=districts_file, small=small, big=big,
            )  # fmt: skip


async def _busy_phase(
    bootstrap_servers: str, config: FleetConfig, idle: FleetFigures, *, prefix: str,
    poller: Child, fake: Child, startup: dict[str, Any], districts_file: Path,
    small: list[dict[str, Any]], big: dict[str, str],
) -> FleetFigures:  # fmt: skip
    """Phase 2: the big district added, the trickle started, idle districts woken."""
    base_url = startup["base_url"]
    busy = [d for d in small if d["busy"]]
    quiet = [d for d in small if not d["busy"]]
    woken = quiet[:: max(1, len(quiet) // max(1, config.idle_sample))][: config.idle_sample]
    notes: list[str] = []
    topic = RAW_EVENTS.name(prefix)
    async with raw_tail(bootstrap_servers, topic, config.partitions, big_id=big["id"]) as tail:
        write_districts(districts_file, [*small, big])
        if fake.process.returncode is None:
            fake.process.send_signal(signal.SIGUSR1)
        start = time.time()
        made = await _wake(base_url, woken)
        woken_ids = {event for events in made for event in events[:1]}
        window_end = await _watch(
            config, tail, poller=poller, fake=fake, start=start, woken=woken_ids,
            idle=idle, notes=notes,
        )  # fmt: skip
        await _drain(tail, busy, poller=poller, end=window_end, poll_s=idle.poll_interval_s)
        peak = mib(poller.status("VmHWM"))
        stats = await _stats(base_url)
        created = await _feeds(base_url, busy)
    busy_ms = busy_latencies(created, tail.seen, end=window_end)
    waits, publishes = busy_stretches(created, tail.seen, tail.fetched, end=window_end)
    idle_first = tuple(
        tail.seen[event] - tail.created[event] if event in tail.seen else math.inf
        for event in woken_ids
    )
    return replace(
        idle,
        notes=tuple(notes),
        busy_ms=tuple(busy_ms),
        busy_wait_ms=tuple(waits),
        busy_publish_ms=tuple(publishes),
        idle_first_s=idle_first,
        big_records=tail.big_records,
        big_sync_s=tail.big_sync_s,
        peak_rss_mib=peak,
        busiest_minute=int(stats.get("busiest_minute", 0)),
        overlapping=len(stats.get("overlapping", [])),
    )


async def _watch(
    config: FleetConfig, tail: RawTail, *, poller: Child, fake: Child, start: float,
    woken: set[str], idle: FleetFigures, notes: list[str],
) -> float:  # fmt: skip
    """Until ``busy_s`` passed, the woken districts' events arrived (or the idle interval and
    a margin passed) and the big sync completed (or never started); the stretch's end."""
    # The big district is picked up within a refresh, then a poll; its first records follow.
    pickup_s = 2 * config.refresh_s + idle.poll_interval_s + 30
    woken_by = idle.idle_interval_s + idle.poll_interval_s + 10
    while True:
        poller.check()
        fake.check()
        tail.check()
        elapsed = time.time() - start
        woken_done = woken <= tail.seen.keys() or elapsed > woken_by
        big_done = tail.big_completed is not None or (tail.big_records == 0 and elapsed > pickup_s)
        # A busy district is found busy within the idle interval; then busy_s of it timed.
        if elapsed >= config.busy_s + idle.idle_interval_s and woken_done and big_done:
            break
        await asyncio.sleep(_CHECK_S)
    if tail.big_records == 0:
        notes.append(
            f"the poller never synced the big district (no record within {pickup_s:.0f} s of "
            "its adding to the districts file)"
        )
    if not woken <= tail.seen.keys():
        notes.append(f"{len(woken - tail.seen.keys())} woken idle districts' events never came")
    return time.time()


async def _drain(
    tail: RawTail, busy: list[dict[str, Any]], *, poller: Child, end: float, poll_s: float
) -> None:
    """Until every busy district's records passed ``end`` (bounded: late events count as
    slowest, they are not waited for)."""
    deadline = time.monotonic() + 3 * poll_s + 15
    wanted = {district["id"] for district in busy}
    while time.monotonic() < deadline:
        poller.check()
        tail.check()
        if all(tail.newest.get(district, 0.0) >= end for district in wanted):
            return
        await asyncio.sleep(_CHECK_S)
    logger.warning("the busy districts' records did not all pass the stretch's end")


async def _wake(base_url: str, districts: list[dict[str, Any]]) -> list[list[str]]:
    """One event made in each of ``districts``: their IDs."""
    made = []
    async with httpx.AsyncClient(base_url=base_url, timeout=_HTTP_TIMEOUT_S) as http:
        for district in districts:
            answer = await http.post(
                "/_fake/changes", json={"district_id": district["id"], "count": 1}
            )
            answer.raise_for_status()
            made.append(list(answer.json()["events"]))
    return made


async def _stats(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=_HTTP_TIMEOUT_S) as http:
        answer = await http.get("/_fake/stats")
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats


async def _metrics(port: int) -> str:
    """The poller's /metrics ("" if it answers none)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        try:
            answer = await http.get("/metrics")
        except httpx.TransportError:
            return ""
        return answer.text if answer.status_code == 200 else ""


async def _feeds(base_url: str, districts: list[dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """Event ID -> (district, ``created`` in seconds since the epoch) of every event of
    ``districts``."""
    created: dict[str, tuple[str, float]] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=_HTTP_TIMEOUT_S) as http:
        for district in districts:
            after: str | None = None
            headers = {"Authorization": f"Bearer {district['token']}"}
            while True:
                params = {"limit": "1000", **({"starting_after": after} if after else {})}
                answer = await http.get("/v3.0/events", params=params, headers=headers)
                answer.raise_for_status()
                entries = answer.json()["data"]
                if not entries:
                    break
                for entry in entries:
                    moment = parse_clever_time(entry["data"].get("created"))
                    if moment is not None:
                        created.setdefault(
                            entry["data"]["id"], (district["id"], moment.timestamp())
                        )
                after = entries[-1]["data"]["id"]
    return created


def write_districts(path: Path, districts: list[dict[str, Any]]) -> None:
    """The poller's districts file, whole before it is there (written aside, renamed)."""
    entries = [{"token": d["token"], "district_id": d["id"]} for d in districts]
    aside = path.with_name(f".{path.name}.new")
    aside.write_text(json.dumps(entries), encoding="utf-8")
    aside.replace(path)


def _poller_env(
    bootstrap_servers: str, config: FleetConfig, *, prefix: str, base_url: str,
    districts_file: Path, port: int,
) -> dict[str, str]:  # fmt: skip
    """``python -m connectors run``'s environment: ours, less any CLEVER_ setting, and the
    poller's defaults but for what the benchmark must set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=str(config.partitions),
        CLEVER_POLLER_BASE_URL=base_url,
        CLEVER_POLLER_DISTRICTS_FILE=str(districts_file),
        CLEVER_POLLER_DISTRICTS_REFRESH_S=str(config.refresh_s),
        CLEVER_POLLER_INSTANCE_ID=f"{prefix}-poller",
        CLEVER_POLLER_HTTP_PORT=str(port),
    )
    return env


@asynccontextmanager
async def _fake_clever(
    config: FleetConfig, *, count: int, folder: Path, prefix: str
) -> AsyncIterator[tuple[Child, dict[str, Any]]]:
    """The fake Clever, its trickle held, and its startup object (from its listing file)."""
    listing = folder / f"{prefix}-listing.json"
    args = (
        "fake-clever", f"--seed={config.seed}", f"--districts={count}",
        f"--contacts={config.contacts}", f"--big-contacts={config.big_contacts}",
        f"--busy-share={config.busy_share}", f"--trickle-interval={config.trickle_interval_s}",
        f"--trickle-batch={config.trickle_batch}", "--trickle-paused", f"--listing={listing}",
    )  # fmt: skip
    log = folder / f"{prefix}-fake-clever.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    async with child("clever_stream", *args, env=env, log=log, what="the fake Clever") as fake:
        while not listing.exists():
            fake.check()
            await asyncio.sleep(_CHECK_S)
        startup: dict[str, Any] = json.loads(listing.read_text(encoding="utf-8"))
        if "big" not in startup:
            raise BenchError("the fake Clever served no big district", hint="a bug in the bench")
        yield fake, startup
