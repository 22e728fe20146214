"""CPU per Clever request of the poller's HTTP client, each transport side by side.

A poller serving thousands of districts spends most of its CPU at rest on small events polls
(10,000 districts polled once a minute are about 170 requests a second), so the cost of one
request is what sets how many districts a core can poll. The fake Clever runs in a process of
its own (``bench.fake_server``); this process runs ``concurrency`` districts' ``CleverClient``
each polling its events in a loop, through the poller's own ``new_http_client`` with each
transport in turn. Rounds alternate between the transports, so the machine's drift falls on
both alike; the figure is this process's CPU time (user and system) per request, the median
of the rounds, and the ratio of each transport to the first one.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import httpx
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bench.fake_server import fake_clever
from connectors.client import CleverClient
from connectors.http import HttpOptions, new_http_client, new_transport

logger = logging.getLogger(__name__)

#: Each transport by name: the poller's own first, then what it is compared with.
TRANSPORTS: dict[str, Callable[[HttpOptions], httpx.AsyncBaseTransport]] = {
    "aiohttp (the poller's)": new_transport,
    "httpcore (httpx's default)": lambda options: httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            # As the poller had it: every pooled connection kept alive.
            max_connections=options.max_connections,
            max_keepalive_connections=options.max_connections,
        )
    ),
}


@dataclass(frozen=True, kw_only=True)
class TransportFigures:
    """One transport: CPU and wall time per request over the rounds."""

    name: str
    cpu_ms: tuple[float, ...]
    wall_ms: tuple[float, ...]

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu_ms)


async def measure(
    *, concurrency: int, requests: int, rounds: int, contacts: int
) -> list[TransportFigures]:
    """``rounds`` rounds of ``requests`` events polls per transport, alternating."""
    cpu: dict[str, list[float]] = {name: [] for name in TRANSPORTS}
    wall: dict[str, list[float]] = {name: [] for name in TRANSPORTS}
    async with fake_clever(contacts=contacts, districts=concurrency) as fake:
        options = HttpOptions(base_url=fake.hello["base_url"])
        tokens = [district["token"] for district in fake.hello["districts"]]
        for round_ in range(rounds + 1):  # the first round warms up and is not counted
            for name, transport in TRANSPORTS.items():
                async with new_http_client(options, transport=transport(options)) as http:
                    clients = [CleverClient(http, token=token) for token in tokens]
                    spent, took = await _round(clients, requests)
                if round_:
                    cpu[name].append(spent / requests * 1000)
                    wall[name].append(took / requests * 1000)
                    logger.info("%s: %.3f ms CPU per request", name, cpu[name][-1])
    return [
        TransportFigures(name=name, cpu_ms=tuple(cpu[name]), wall_ms=tuple(wall[name]))
        for name in TRANSPORTS
    ]


async def _round(clients: list[CleverClient], requests: int) -> tuple[float, float]:
    """``requests`` events polls shared by the clients, each polling in a loop; the CPU and
    wall seconds they took."""
    left = requests

    async def polling(client: CleverClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await client.events_after(None, limit=1000)

    cpu, wall = time.process_time(), time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for client in clients:
            group.create_task(polling(client))
    return time.process_time() - cpu, time.perf_counter() - wall


def table(figures: list[TransportFigures], *, concurrency: int, requests: int) -> Table:
    first = figures[0].median_cpu_ms
    found = Table(
        title=f"Clever requests, {concurrency} at a time, {requests:,} per round",
        box=box.MARKDOWN,
    )
    for column in ("transport", "CPU ms/request (median)", "rounds", "wall ms/request", "ratio"):
        found.add_column(column, justify="left" if column == "transport" else "right")
    for each in figures:
        found.add_row(
            each.name,
            f"{each.median_cpu_ms:.3f}",
            " ".join(f"{ms:.3f}" for ms in each.cpu_ms),
            f"{statistics.median(each.wall_ms):.3f}",
            f"{each.median_cpu_ms / first:.2f}",
        )
    return found


def main(
    concurrency: Annotated[int, typer.Option(min=1, help="Districts polling at once.")] = 16,
    requests: Annotated[int, typer.Option(min=1, help="Requests per round.")] = 4000,
    rounds: Annotated[int, typer.Option(min=1, help="Counted rounds per transport.")] = 5,
    contacts: Annotated[int, typer.Option(min=1, help="Contacts per fake district.")] = 5,
) -> None:
    """Measure each transport's CPU per request and print the table."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # as the poller has it
    figures = asyncio.run(
        measure(concurrency=concurrency, requests=requests, rounds=rounds, contacts=contacts)
    )
    Console().print(table(figures, concurrency=concurrency, requests=requests))


if __name__ == "__main__":
    typer.run(main)
