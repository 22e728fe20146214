"""``fake-clever serve`` as a parent process runs it: one JSON line, a trickle, a clean stop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import httpx

from tests.waiting import eventually

COMMAND = "from fakeclever.cli import main; main()"


async def test_serve_prints_one_line_trickles_and_stops_cleanly_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMMAND, "serve", "--seed", "3", "--contacts", "30",
        "--districts", "2", "--trickle-interval", "0.05", "--trickle-batch", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        startup = json.loads(line)
        assert startup["base_url"].startswith("http://127.0.0.1:")
        districts = startup["districts"]
        assert len(districts) == 2
        assert len({d["token"] for d in districts}) == 2
        first = districts[0]
        headers = {"Authorization": f"Bearer {first['token']}"}
        async with httpx.AsyncClient(base_url=startup["base_url"], headers=headers) as http:

            async def trickled() -> list[object] | None:
                body = (await http.get("/v3.0/events", params={"limit": 100})).json()
                return body["data"] or None

            events = await eventually(trickled, timeout_s=30, what="the trickle's events")
            assert len(events) % 2 == 0
            districts_seen = (await http.get("/v3.0/districts")).json()["data"]
            assert [d["data"]["id"] for d in districts_seen] == [first["id"]]
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()
        assert stdout == b""
        assert first["token"] not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_same_seed_gives_the_same_tokens_and_districts() -> None:
    lines = []
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", COMMAND, "serve", "--seed", "9", "--contacts", "5",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            lines.append(json.loads(await asyncio.wait_for(process.stdout.readline(), 30)))
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert lines[0]["districts"] == lines[1]["districts"]


async def test_a_trickle_with_quirks_re_sends_earlier_events_under_their_ids() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMMAND, "serve", "--seed", "4", "--contacts", "30",
        "--trickle-interval", "0.02", "--trickle-batch", "3", "--trickle-quirks",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        startup = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=30))
        headers = {"Authorization": f"Bearer {startup['districts'][0]['token']}"}
        async with httpx.AsyncClient(base_url=startup["base_url"], headers=headers) as http:

            async def re_sent() -> list[str] | None:
                body = (await http.get("/v3.0/events", params={"limit": 10_000})).json()
                ids = [item["data"]["id"] for item in body["data"]]
                return ids if len(set(ids)) < len(ids) else None

            await eventually(re_sent, timeout_s=30, what="an event re-sent by the trickle")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
