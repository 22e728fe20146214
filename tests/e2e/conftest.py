"""Run the project's commands as a user does: in a subprocess, with their environment."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

CommandEnv = Callable[..., dict[str, str]]


@pytest.fixture
def command_env(tmp_path: Path) -> CommandEnv:
    """The environment of a command: this one, with a state folder of the test's own.

    KAFKA_BOOTSTRAP_SERVERS is removed unless given, so a command starts its own broker; the
    jar cache stays the user's, as it would.
    """

    def make(**overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
        env["LOCAL_KAFKA_STATE_DIR"] = str(tmp_path / "broker")
        env["COLUMNS"] = "200"  # rich wraps at the terminal width; keep lines whole
        env.update(overrides)
        return env

    return make


@dataclass
class Finished:
    """What a finished command printed, and its exit code."""

    code: int
    output: str


def run_command(module: str, *args: str, env: dict[str, str], timeout_s: float = 180) -> Finished:
    """Run ``python -m module args`` to the end (bounded) and collect its output."""

    async def run() -> Finished:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return Finished(process.returncode, output.decode())

    return asyncio.run(run())


async def clever_stream(env: dict[str, str], *args: str) -> Finished:
    """``clever-stream args`` run to the end as a process, from an async test."""
    return await asyncio.to_thread(run_command, "clever_stream", *args, env=env)
