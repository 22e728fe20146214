"""What a poller process costs per district it serves, once every district is polling.

A fake Clever (a process of its own) serves ``n`` small districts; one poller process
(``python -m connectors run``, as operators run it, at the default 5 s poll interval) serves
them all. Once its ``/ready`` says every district polls, its resident memory, threads, open
sockets and file descriptors are read from ``/proc``, and its CPU time over an idle stretch:
the figures that say how many districts one poller can take.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.fake_server import fake_clever
from bench.pipeline_config import bounded
from bench.pipeline_kafka import GroupOffsets
from bench.pipeline_processes import child, free_port, ready

logger = logging.getLogger(__name__)

_CONTACTS = 5
_POLL_S = 0.5
_MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class PollerSizing:
    """One poller serving ``districts`` idle districts."""

    districts: int
    rss_mib: float
    threads: int
    sockets: int
    descriptors: int
    #: Seconds until /ready said every district polls.
    ready_s: float
    #: The poller's CPU time over the idle stretch, as a share of one core.
    idle_cpu_share: float

    @property
    def idle_cpu_per_district(self) -> float:
        """Share of one core an idle district costs."""
        return self.idle_cpu_share / self.districts


async def run_poller_sizing(
    bootstrap_servers: str, *, counts: tuple[int, ...], idle_s: float, timeout_s: float
) -> list[PollerSizing]:
    """The figures for each number of districts, on topics of their own (deleted after)."""
    tag = f"bench-poller-{uuid.uuid4().hex[:8]}"
    found: list[PollerSizing] = []
    try:
        for count in counts:
            figures = await _measure(
                bootstrap_servers,
                count=count,
                prefix=f"{tag}-{count}",
                idle_s=idle_s,
                timeout_s=timeout_s,
            )
            found.append(figures)
    finally:
        async with GroupOffsets(bootstrap_servers) as offsets:
            await offsets.delete_topics([tag])
    return found


async def _measure(
    bootstrap_servers: str, *, count: int, prefix: str, idle_s: float, timeout_s: float
) -> PollerSizing:
    what = f"a poller of {count} districts"
    async with bounded(what, timeout_s), fake_clever(contacts=_CONTACTS, districts=count) as fake:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
            CLEVER_STREAM_TOPIC_PREFIX=prefix,
            CLEVER_POLLER_BASE_URL=fake.hello["base_url"],
            CLEVER_POLLER_DISTRICTS=json.dumps(fake.hello["districts"]),
            CLEVER_POLLER_HTTP_PORT=str(port),
        )
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "poller.log"
            async with child("connectors", "run", env=env, log=log, what=what) as running:
                loop = asyncio.get_running_loop()
                started = loop.time()
                await ready(port, running, poll_s=_POLL_S)
                ready_s = loop.time() - started
                cpu_before = running.cpu_seconds()
                await asyncio.sleep(idle_s)
                cpu_share = (running.cpu_seconds() - cpu_before) / idle_s
                rss_kib, threads = running.status("VmRSS"), running.status("Threads")
                descriptors, sockets = _descriptors(running.process.pid)
    figures = PollerSizing(
        districts=count,
        rss_mib=rss_kib * 1024 / _MIB,
        threads=threads,
        sockets=sockets,
        descriptors=descriptors,
        ready_s=ready_s,
        idle_cpu_share=cpu_share,
    )
    logger.info("%s: %.0f MiB, %d sockets", what, figures.rss_mib, figures.sockets)
    return figures


def _descriptors(pid: int) -> tuple[int, int]:
    """The process's open file descriptors, and how many of them are sockets."""
    found = list(Path(f"/proc/{pid}/fd").iterdir())
    return len(found), sum(1 for fd in found if os.readlink(fd).startswith("socket:"))
