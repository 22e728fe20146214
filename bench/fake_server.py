"""The benchmark's fake Clever, in a process of its own so it never counts in the poller's RSS.

Prints one JSON line once listening (``base_url``, the first district's ``district_id`` and
``token``, and every district's in ``districts``), then reads commands on stdin, one per line,
answering each with one JSON line:

- ``changes <n>``: apply ``n`` random changes to the first district; answers the events made
  and the newest ID.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from bench.exceptions import BenchError
from fakeclever import FakeClever, FakeDistrict


async def _serve(contacts: int, seed: int, districts: int) -> None:
    fake = FakeClever()
    served = [fake.add_district(seed=seed + n, contacts=contacts) for n in range(districts)]
    district = served[0]
    async with fake.serve(host="127.0.0.1", port=0) as base_url:
        _answer(
            {
                "base_url": base_url,
                "district_id": district.id,
                "token": district.token,
                "districts": [{"district_id": d.id, "token": d.token} for d in served],
            }
        )
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            _answer(_command(district, line))


def _command(district: FakeDistrict, line: str) -> dict[str, object]:
    name, _, argument = line.partition(" ")
    if name != "changes":
        return {"error": f"unknown command {name!r}"}
    before = len(district.events())
    district.random_changes(int(argument), seed=before + 1)
    events = district.events()
    return {"events": len(events) - before, "newest": events[-1]["id"] if events else None}


def _answer(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


@dataclass
class FakeCleverProcess:
    """This module running as a child process: its hello line, and its commands."""

    process: asyncio.subprocess.Process
    hello: dict[str, Any]

    async def ask(self, command: str) -> dict[str, Any]:
        """Send one command line; its answer."""
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise BenchError("the fake Clever has no pipes", hint="a bug in the benchmark")
        stdin.write(f"{command}\n".encode())
        await stdin.drain()
        answer: dict[str, Any] = json.loads(await stdout.readline())
        return answer


@asynccontextmanager
async def fake_clever(*, contacts: int, districts: int = 1) -> AsyncIterator[FakeCleverProcess]:
    """The fake Clever in a process of its own, serving ``districts`` of ``contacts`` each,
    until the block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fake_server",
        f"--contacts={contacts}", f"--districts={districts}",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        if process.stdout is None:
            raise BenchError("the fake Clever has no stdout", hint="a bug in the benchmark")
        # Generating many districts, or a large one, takes a while.
        hello = json.loads(await asyncio.wait_for(process.stdout.readline(), 120))
        yield FakeCleverProcess(process, hello)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        if process.returncode is None:
            process.terminate()
        await process.wait()


def main(
    contacts: Annotated[int, typer.Option(min=1)] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    districts: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve fake districts (of ``contacts`` each) until stdin closes."""
    asyncio.run(_serve(contacts, seed, districts))


if __name__ == "__main__":
    typer.run(main)
