"""``fake-clever serve`` for a fleet: a listing file, a share of busy districts, a big one, a
trickle held until SIGUSR1, and the stats over HTTP."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx

from tests.waiting import eventually

COMMAND = "from fakeclever.cli import main; main()"


async def test_a_fleet_listing_in_a_file_busy_districts_trickle_once_resumed(
    tmp_path: Path,
) -> None:
    listing = tmp_path / "listing.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMMAND, "serve", "--seed", "5", "--contacts", "10",
        "--districts", "20", "--busy-share", "0.1", "--big-contacts", "5000",
        "--trickle-interval", "0.05", "--trickle-batch", "1", "--trickle-paused",
        "--listing", str(listing),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=30))
        assert line == {"base_url": line["base_url"], "listing": str(listing)}
        startup = json.loads(listing.read_text())
        districts, big = startup["districts"], startup["big"]
        assert len(districts) == 20
        assert [d["busy"] for d in districts] == [True, True] + [False] * 18
        assert big["id"] not in {d["id"] for d in districts}

        async with httpx.AsyncClient(base_url=line["base_url"], timeout=10) as http:

            async def events(district: dict[str, str]) -> list[object]:
                headers = {"Authorization": f"Bearer {district['token']}"}
                params = {"limit": 100}
                body = (await http.get("/v3.0/events", params=params, headers=headers)).json()
                found: list[object] = body["data"]
                return found

            assert await events(districts[0]) == []  # held until SIGUSR1
            process.send_signal(signal.SIGUSR1)

            async def trickled() -> bool:
                return bool(await events(districts[0])) and bool(await events(districts[1]))

            await eventually(trickled, timeout_s=30, what="the busy districts' trickle")
            assert await events(districts[2]) == []
            assert await events(big) == []
            users = await http.get(
                "/v3.0/users",
                params={"role": "contact", "limit": 10_000},
                headers={"Authorization": f"Bearer {big['token']}"},
            )
            assert len(users.json()["data"]) == 5000
            stats = (await http.get("/_fake/stats")).json()
        assert stats["busiest_minute"] >= 1
        assert stats["overlapping"] == []
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()
        assert stdout == b""
        assert districts[0]["token"] not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
