"""``fake-clever``: serve fake Clever districts over HTTP for the demo, benchmarks and tests.

Its one documented output is a single JSON line on stdout once it listens::

    {"base_url": "http://127.0.0.1:PORT", "districts": [{"id": "...", "token": "..."}]}

That line carries the districts' bearer tokens (fake ones, derived from ``--seed`` unless
``--token`` is given) so a parent process can use them; nothing else prints or logs a token.
Each district's entry says whether it trickles (``"busy"``: with ``--busy-share``, only the
first share of them do). ``--big-contacts N`` serves one more district of ``N`` contacts, never
trickling, under ``"big"`` beside ``"districts"``. With ``--listing PATH`` (for thousands of
districts) the whole object is written to ``PATH`` once listening, and the line on stdout
carries ``base_url`` and ``listing`` (the path) only.

``--trickle-paused`` holds the trickle until the process gets SIGUSR1, so that a benchmark
measures an idle stretch first. ``GET /_fake/stats`` answers the request statistics (see
``fakeclever.server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

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
    busy_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of the districts that trickle (the first)."),
    ] = 1.0,
    trickle_paused: Annotated[
        bool,
        typer.Option(
            "--trickle-paused/--no-trickle-paused",
            help="Hold the trickle until SIGUSR1 (an idle stretch first).",
        ),
    ] = False,
    big_contacts: Annotated[
        int | None,
        typer.Option(min=1, help="One more district of this many contacts, never trickling."),
    ] = None,
    listing: Annotated[
        Path | None,
        typer.Option(help="Write the startup object here; stdout gets base_url and this path."),
    ] = None,
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
    big = None
    if big_contacts is not None:
        big = fake.add_district(seed=seed + districts, contacts=big_contacts)
    plan = _Plan(
        districts=made,
        busy=busy_count(districts, busy_share),
        big=big,
        trickle_interval=trickle_interval,
        trickle_batch=trickle_batch,
        trickle_quirks=trickle_quirks,
        trickle_paused=trickle_paused,
        listing=listing,
    )
    asyncio.run(_serve(fake, plan, host, port, seed))


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """What ``serve`` serves and trickles."""

    districts: list[FakeDistrict]
    #: The first ``busy`` districts trickle.
    busy: int
    big: FakeDistrict | None
    trickle_interval: float | None
    trickle_batch: int
    trickle_quirks: bool
    trickle_paused: bool
    listing: Path | None


def busy_count(districts: int, share: float) -> int:
    """How many of ``districts`` trickle at ``share``: at least one unless the share is 0."""
    if share <= 0:
        return 0
    return min(districts, max(1, math.ceil(districts * share - 1e-9)))


def startup_object(
    base_url: str, districts: list[FakeDistrict], *, busy: int, big: FakeDistrict | None
) -> dict[str, Any]:
    """The startup line's object: where the fake listens, every district and its token."""
    found: dict[str, Any] = {
        "base_url": base_url,
        "districts": [
            {"id": d.id, "token": d.token, "busy": n < busy} for n, d in enumerate(districts)
        ],
    }
    if big is not None:
        found["big"] = {"id": big.id, "token": big.token}
    return found


def _announce(startup: dict[str, Any], listing: Path | None) -> None:
    """The startup line on stdout; with ``listing``, the object in that file (whole before
    it is there: written aside, then renamed) and only where it is on stdout."""
    if listing is None:
        print(json.dumps(startup), flush=True)
        return
    aside = listing.with_name(f".{listing.name}.{os.getpid()}")
    aside.write_text(json.dumps(startup), encoding="utf-8")
    aside.replace(listing)
    print(json.dumps({"base_url": startup["base_url"], "listing": str(listing)}), flush=True)


async def _serve(fake: FakeClever, plan: _Plan, host: str, port: int, seed: int) -> None:
    stop, resume = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, resume.set)
    if not plan.trickle_paused:
        resume.set()
    async with fake.serve(host=host, port=port) as base_url:
        _announce(
            startup_object(base_url, plan.districts, busy=plan.busy, big=plan.big), plan.listing
        )
        trickle = None
        if plan.trickle_interval is not None and plan.busy:
            trickle = asyncio.create_task(
                _trickle(
                    plan.districts[: plan.busy], seed, plan.trickle_interval,
                    plan.trickle_batch, plan.trickle_quirks, resume=resume,
                )
            )  # fmt: skip
        await stop.wait()
        logger.info("stopping")
        if trickle is not None:
            trickle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trickle
    sys.stdout.flush()


async def _trickle(
    districts: list[FakeDistrict], seed: int, interval: float, batch: int, quirks: bool = False,
    *, resume: asyncio.Event,
) -> None:  # fmt: skip
    """A steady trickle of random changes in every district, one batch per interval, once
    ``resume`` is set."""
    await resume.wait()
    logger.info("trickling in %d districts", len(districts))
    round_ = 0
    while True:
        await asyncio.sleep(interval)
        round_ += 1
        for district in districts:
            district.random_changes(batch, seed=seed * 1_000_003 + round_, quirks=quirks)


def main() -> None:
    """Entry point of the ``fake-clever`` command."""
    app()
