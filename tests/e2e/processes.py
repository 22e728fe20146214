"""Run one of the project's long-lived commands as a child process, as operators run it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fakeclever import FakeDistrict
from tests.integration.connectors.poller_harness import district_entry


@asynccontextmanager
async def module_process(
    module: str, *args: str, env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m module args``, its output appended to ``log``; killed on exit if still up.

    A file, not a pipe: a pipe nobody reads would fill up and block the child.
    """
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, env=env, stdout=log_file, stderr=log_file
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


def poller_env(
    bootstrap_servers: str,
    base_url: str,
    prefix: str,
    districts: list[FakeDistrict],
    **settings: str,
) -> dict[str, str]:
    """The environment of ``python -m connectors run`` for ``districts`` of a fake Clever:
    ours, less any CLEVER_ setting, with short polls and small pages; ``settings`` are
    further ``CLEVER_POLLER_*`` values by their field names (``events_page_size="7"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS="3",
        CLEVER_POLLER_BASE_URL=base_url,
        CLEVER_POLLER_DISTRICTS=json.dumps([district_entry(d) for d in districts]),
        CLEVER_POLLER_POLL_INTERVAL_S="0.1",
        CLEVER_POLLER_EVENTS_PAGE_SIZE="20",
        CLEVER_POLLER_SNAPSHOT_PAGE_SIZE="50",
        CLEVER_POLLER_DISTRICT_BACKOFF_S="0.2",
        # Several pollers may run at once: their endpoints are tested where asked for.
        CLEVER_POLLER_HTTP_PORT="0",
    )
    env.update({f"CLEVER_POLLER_{name.upper()}": value for name, value in settings.items()})
    return env
