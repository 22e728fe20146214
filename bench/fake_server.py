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
from typing import Annotated

import typer

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


def main(
    contacts: Annotated[int, typer.Option(min=1)] = 100_000,
    seed: Annotated[int, typer.Option()] = 1,
    districts: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve fake districts (of ``contacts`` each) until stdin closes."""
    asyncio.run(_serve(contacts, seed, districts))


if __name__ == "__main__":
    typer.run(main)
