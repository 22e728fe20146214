"""The pipeline benchmark's child processes: the worker as operators run it, the baselines and
the Quix Streams peer.

Each runs in a process of its own, so neither shares an event loop or a GIL with the
benchmark's own clients, and each one's CPU time can be read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bench.exceptions import BenchError

_STOP_TIMEOUT_S = 60.0
#: The checkout the benchmarks run from.
_ROOT = Path(__file__).resolve().parents[1]
#: The Python of the Quix Streams peer's own virtualenv (``make bench-setup``).
QUIX_PYTHON = _ROOT / ".venv-quix" / "bin" / "python"
_LOG_TAIL = 3000
#: How Faust logs an agent that raised.
_CRASHED = b"Crashed reason="


class Child:
    """A running child process and the file its output goes to."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, what: str) -> None:
        self.process = process
        self.log = log
        self.what = what
        self._log_read = 0

    def check(self) -> None:
        """Raise if the child has exited, or logged a crash: its run would never finish.

        A crashed Faust agent is restarted and the worker goes on, but crawling (it fails
        each record and retries it), so a crash fails the run at once rather than by timeout.
        """
        if self.process.returncode is not None:
            raise BenchError(
                f"{self.what} exited ({self.process.returncode}) mid-run; its log ends:\n"
                f"{self._tail()}",
                hint="run it by hand with --verbose to see why",
            )
        with self.log.open("rb") as log:
            log.seek(self._log_read)
            new = log.read()
        self._log_read += len(new)
        if _CRASHED in new:
            line = new[new.index(_CRASHED) :].split(b"\n", 1)[0].decode(errors="replace")
            raise BenchError(
                f"{self.what} logged a crash: {line[:_LOG_TAIL]}",
                hint=f"read its log, {self.log}, and rerun; a crash is no figure",
            )

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the child so far, every thread included."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # not Linux, or gone
            return float("nan")
        # After the command name: state is field 3, utime 14 and stime 15 (man 5 proc).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self, field: str) -> int:
        """A number of the child's ``/proc/<pid>/status``: ``VmRSS`` (KiB), ``Threads``..."""
        path = Path(f"/proc/{self.process.pid}/status")
        for line in path.read_text().splitlines():
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
        raise LookupError(f"{field} is not in {path}")

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-_LOG_TAIL:]


@asynccontextmanager
async def child(
    module: str,
    *args: str,
    env: dict[str, str],
    log: Path,
    what: str,
    python: Path | str = sys.executable,
) -> AsyncIterator[Child]:
    """``python -m module args``, output to ``log``; SIGTERMed on exit (killed if it hangs).

    A file, not a pipe: a pipe nobody reads would fill up and block the child.
    """
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            python, "-m", module, *args, env=env, stdout=log_file, stderr=log_file
        )
        try:
            yield Child(process, log, what)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def ready(port: int, running: Child, *, poll_s: float = 0.2) -> None:
    """Wait until the child's ``/ready`` on ``port`` answers 200 (a worker: its partitions
    restored; a poller: every district polls); raise if the child exits meanwhile."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        while True:
            running.check()
            try:
                if (await http.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:  # not listening yet
                pass
            await asyncio.sleep(poll_s)


def free_port() -> int:
    """A TCP port free on loopback now, for a child's HTTP server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_env(
    bootstrap_servers: str,
    *,
    prefix: str,
    partitions: int,
    app_id: str,
    data_dir: Path,
    commit_interval_s: float,
    engine: str = "native",
    store: str = "memory://",
) -> dict[str, str]:
    """The environment of ``python -m streams worker``: ours, less any CLEVER_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=str(partitions),
        CLEVER_WORKER_APP_ID=app_id,
        CLEVER_WORKER_DATA_DIR=str(data_dir),
        CLEVER_WORKER_WEB_ENABLED="false",
        CLEVER_WORKER_COMMIT_INTERVAL_S=str(commit_interval_s),
        CLEVER_WORKER_ENGINE=engine,
        CLEVER_WORKER_STORE=store,
    )
    return env


@asynccontextmanager
async def worker(
    bootstrap_servers: str,
    *,
    prefix: str,
    partitions: int,
    app_id: str,
    commit_interval_s: float,
    folder: Path,
    engine: str = "native",
    store: str = "memory://",
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[Child]:
    """A privilege worker, ``python -m streams worker``, of ``engine`` with its tables in
    ``store`` (by default the native engine, in memory), and further ``CLEVER_WORKER_*``
    ``settings``; started again with the same arguments, it is the same worker (its data
    folder, its log)."""
    env = worker_env(
        bootstrap_servers,
        prefix=prefix,
        partitions=partitions,
        app_id=app_id,
        data_dir=folder / app_id,
        commit_interval_s=commit_interval_s,
        engine=engine,
        store=store,
    )
    env.update(settings or {})
    log = folder / f"{app_id}.log"
    async with child("streams", "worker", env=env, log=log, what=f"the worker {app_id}") as running:
        yield running


@asynccontextmanager
async def baseline(
    bootstrap_servers: str,
    *,
    topic: str,
    output_prefix: str,
    group_id: str,
    commit_interval_s: float,
    folder: Path,
    job: str = "codec",
) -> AsyncIterator[Child]:
    """A bare consume-transform-produce loop of ``bench.pipeline_raw`` doing ``job`` (codec,
    writer or processor), writing the topics under ``output_prefix``."""
    args = (
        f"--bootstrap-servers={bootstrap_servers}",
        f"--topic={topic}",
        f"--output-prefix={output_prefix}",
        f"--group-id={group_id}",
        f"--commit-interval={commit_interval_s}",
        f"--job={job}",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_")}
    log = folder / f"{group_id}.log"
    what = f"the baseline loop {group_id}"
    async with child("bench.pipeline_raw", *args, env=env, log=log, what=what) as running:
        yield running


@asynccontextmanager
async def quix_peer(
    bootstrap_servers: str,
    *,
    topic: str,
    output_prefix: str,
    group_id: str,
    commit_interval_s: float,
    folder: Path,
    python: Path = QUIX_PYTHON,
) -> AsyncIterator[Child]:
    """The Quix Streams peer, ``bench.peer_quix``, run by ``python`` (Quix Streams' own
    virtualenv), its RocksDB state in ``folder``, writing the topics under ``output_prefix``."""
    _check_python(python)
    args = (
        f"--bootstrap-servers={bootstrap_servers}",
        f"--topic={topic}",
        f"--output-prefix={output_prefix}",
        f"--group-id={group_id}",
        f"--commit-interval={commit_interval_s}",
        f"--state-dir={folder / group_id}",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEVER_", "Quix__"))}
    # Quix Streams' Python runs the project's packages from this checkout, as ours does.
    env["PYTHONPATH"] = str(_ROOT)
    log = folder / f"{group_id}.log"
    what = f"the Quix Streams peer {group_id}"
    async with child(
        "bench.peer_quix", *args, env=env, log=log, what=what, python=python
    ) as running:
        yield running


def _check_python(python: Path) -> None:
    if not python.exists():
        raise BenchError(
            f"no Python for the Quix Streams peer at {python}",
            hint="run `make bench-setup` (Quix Streams has a virtualenv of its own), or pass "
            "--quix-python",
        )
