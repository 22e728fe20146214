"""``fake-clever``: serve fake Clever districts over HTTP for the demo, benchmarks and tests.

Its one documented output is a single JSON line on stdout once it listens::

    {"base_url": "http://127.0.0.1:PORT", "districts": [{"id": "...", "token": "..."}]}

That line carries the districts' bearer tokens (fake ones, derived from ``--seed`` unless
``--token`` is given) so a parent process can use them; nothing else prints or logs a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from typing import Annotated

import typer

from fakeclever.district import FakeDistrict
from fakeclever.fake import FakeClever
from foundation.console import LogFormat, LogFormatOption, VerboseOption, configure_logging

logger = logging.getLogger(__name__)
app = typer.Typer(
    help="A fake Clever API (v3.0/v3.1 and v2.1) with generated districts, events and faults.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def configure(verbose: VerboseOption = False, log_format: LogFormatOption = LogFormat.TEXT) -> None:
    """Logs go to stderr; stdout carries only the startup line."""
    configure_logging(verbose=verbose, log_format=log_format)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated districts.")] = 1,
    contacts: Annotated[int, typer.Option(min=0, help="Contacts per district.")] = 200,
    students: Annotated[
        int | None, typer.Option(min=1, help="Students per district [default: contacts / 2].")
    ] = None,
    districts: Annotated[int, typer.Option(min=1, help="How many districts.")] = 1,
    token: Annotated[
        list[str] | None, typer.Option(help="Bearer token of the Nth district (repeatable).")
    ] = None,
    trickle_interval: Annotated[
        float | None, typer.Option(min=0.001, help="Seconds between batches of random changes.")
    ] = None,
    trickle_batch: Annotated[int, typer.Option(min=1, help="Events per trickle batch.")] = 3,
    trickle_quirks: Annotated[
        bool,
        typer.Option(
            "--trickle-quirks/--no-trickle-quirks",
            help="Trickle Clever's quirks too: re-sent events, students gone but still listed.",
        ),
    ] = False,
    api_version_naming: Annotated[
        str, typer.Option(help="v2 contact events: 'contacts' (v2.1) or 'studentcontacts' (v1.2).")
    ] = "contacts",
) -> None:
    """Serve until SIGINT or SIGTERM, after printing the startup line (see the module doc)."""
    if api_version_naming not in ("contacts", "studentcontacts"):
        raise typer.BadParameter("must be 'contacts' or 'studentcontacts'")
    fake = FakeClever()
    tokens = list(token or [])
    made = [
        fake.add_district(
            seed=seed + ordinal,
            contacts=contacts,
            students=students,
            token=tokens[ordinal] if ordinal < len(tokens) else None,
            studentcontacts_naming=api_version_naming == "studentcontacts",
        )
        for ordinal in range(districts)
    ]
    asyncio.run(
        _serve(fake, made, host, port, seed, trickle_interval, trickle_batch, trickle_quirks)
    )


async def _serve(
    fake: FakeClever, districts: list[FakeDistrict], host: str, port: int, seed: int,
    trickle_interval: float | None, trickle_batch: int, trickle_quirks: bool,
) -> None:  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with fake.serve(host=host, port=port) as base_url:
        listing = [{"id": d.id, "token": d.token} for d in districts]
        print(json.dumps({"base_url": base_url, "districts": listing}), flush=True)
        trickle = None
        if trickle_interval is not None:
            trickle = asyncio.create_task(
                _trickle(districts, seed, trickle_interval, trickle_batch, trickle_quirks)
            )
        await stop.wait()
        logger.info("stopping")
        if trickle is not None:
            trickle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trickle
    sys.stdout.flush()


async def _trickle(
    districts: list[FakeDistrict], seed: int, interval: float, batch: int, quirks: bool = False
) -> None:
    """A steady trickle of random changes in every district, one batch per interval."""
    round_ = 0
    while True:
        await asyncio.sleep(interval)
        round_ += 1
        for district in districts:
            district.random_changes(batch, seed=seed * 1_000_003 + round_, quirks=quirks)


def main() -> None:
    """Entry point of the ``fake-clever`` command."""
    app()
