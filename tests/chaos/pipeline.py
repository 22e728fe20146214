"""The chaos run's pipeline: two pollers sharing the districts and two workers, each a
process of its own that the run may SIGKILL and start again, as operators run them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from fakeclever import FakeDistrict
from tests.chaos.clever import READ_TIMEOUT_S

logger = logging.getLogger(__name__)

#: Children of a killed run: a kill leaves no process behind.
_STOP_TIMEOUT_S = 30.0


class ChaosError(Exception):
    """The run could not go on: a process exited on its own, or a wait ran out."""


class Supervised:
    """A pipeline process: started, SIGKILLed and started again with the same environment,
    its output appended to one log across its lives."""

    def __init__(self, name: str, module: str, args: list[str], env: dict[str, str], log: Path):
        self.name = name
        self._command = [sys.executable, "-m", module, *args]
        self._env = env
        self.log = log
        self._process: asyncio.subprocess.Process | None = None
        self.lives = 0

    async def start(self) -> None:
        """Start the process (a new life)."""
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self._command, env=self._env, stdout=log, stderr=log
            )
        self.lives += 1
        logger.info("%s started (pid %d, life %d)", self.name, self._process.pid, self.lives)

    async def kill(self) -> None:
        """SIGKILL it and wait until it is gone."""
        process = self._process
        if process is None or process.returncode is not None:
            raise ChaosError(f"{self.name} was not running when it was to be killed")
        process.kill()
        await process.wait()
        logger.info("%s killed (pid %d)", self.name, process.pid)

    def check(self) -> None:
        """Raise if the process exited when nobody killed it."""
        process = self._process
        if process is not None and process.returncode is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise ChaosError(
                f"{self.name} exited by itself ({process.returncode}); its log ends:\n{tail}"
            )

    async def stop(self) -> None:
        """SIGTERM, as operators stop it; SIGKILL if it does not stop in time."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass(frozen=True)
class Names:
    """The run's topic prefix and worker group, fresh for each run."""

    prefix: str
    app_id: str

    @property
    def raw(self) -> str:
        return f"{self.prefix}.clever.raw.v1"

    @property
    def changes(self) -> str:
        return f"{self.prefix}.privileges.changes.v1"

    @property
    def state(self) -> str:
        return f"{self.prefix}.privileges.state.v1"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dead-letters.v1"


def _base_env(bootstrap_servers: str, names: Names, partitions: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEVER_", "KAFKA_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=names.prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=str(partitions),
    )
    return env


def pollers(
    bootstrap_servers: str,
    base_url: str,
    names: Names,
    districts: list[FakeDistrict],
    *,
    partitions: int,
    folder: Path,
) -> list[Supervised]:
    """Two pollers of one fleet, given every district alike: their group shares the shards,
    and a killed one's move to the other until it is back."""
    found = []
    for number in range(2):
        env = _base_env(bootstrap_servers, names, partitions)
        env.update(
            CLEVER_POLLER_BASE_URL=base_url,
            CLEVER_POLLER_DISTRICTS=json.dumps(
                [{"token": d.token, "district_id": d.id, "api_version": "v3.0"} for d in districts]
            ),
            CLEVER_POLLER_INSTANCE_ID=f"poller-{number}",
            CLEVER_POLLER_GROUP_SESSION_TIMEOUT_MS="6000",
            CLEVER_POLLER_POLL_INTERVAL_S="0.5",
            CLEVER_POLLER_EVENTS_PAGE_SIZE="100",
            CLEVER_POLLER_SNAPSHOT_PAGE_SIZE="200",
            CLEVER_POLLER_DISTRICT_BACKOFF_S="0.5",
            CLEVER_POLLER_READ_TIMEOUT_S=str(READ_TIMEOUT_S),
            CLEVER_POLLER_HTTP_PORT="0",
        )
        found.append(
            Supervised(
                f"poller-{number}", "connectors", ["run"], env, folder / f"poller-{number}.log"
            )
        )
    return found


def workers(
    bootstrap_servers: str, names: Names, *, engine: str, partitions: int, folder: Path
) -> list[Supervised]:
    """Two workers of one group, each with a static member ID, so a restarted one takes its
    partitions back at once."""
    found = []
    for number in range(2):
        env = _base_env(bootstrap_servers, names, partitions)
        env.update(
            CLEVER_WORKER_ENGINE=engine,
            CLEVER_WORKER_STORE="memory://",
            CLEVER_WORKER_APP_ID=names.app_id,
            CLEVER_WORKER_DATA_DIR=str(folder / f"worker-{number}"),
            CLEVER_WORKER_WEB_ENABLED="false",
            CLEVER_WORKER_COMMIT_INTERVAL_S="0.2",
            CLEVER_WORKER_SESSION_TIMEOUT_S="10",
            CLEVER_WORKER_INSTANCE_ID=f"{names.app_id}-{number}",
        )
        found.append(
            Supervised(
                f"worker-{number}",
                "streams",
                ["worker", "--verbose"],
                env,
                folder / f"worker-{number}.log",
            )
        )
    return found
