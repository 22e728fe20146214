"""The chaos run's Clever: a fake whose districts change all through the run, that misbehaves
on cue, and that tells the run how far the pollers have read each district's feed."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from fakeclever import FakeClever, FakeDistrict
from fakeclever.events import Event

logger = logging.getLogger(__name__)

#: The pollers' HTTP read timeout in a chaos run; a "timeout" fault answers later than this.
READ_TIMEOUT_S = 2.0


class ObservedClever(FakeClever):
    """A fake Clever that numbers each district's events as they are made and remembers,
    per district, the furthest event a poller has asked for the events after: how far the
    pollers have read (a poller asks for what follows an event once it holds that event)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(clock)
        #: Event ID -> (district ID, its number in the district's feed, from 1).
        self.numbers: dict[str, tuple[str, int]] = {}
        #: District ID -> the number of its newest event.
        self.newest: dict[str, int] = {}
        #: District ID -> the number of the furthest event a poller asked to read after.
        self.read_up_to: dict[str, int] = {}
        self.served = 0

    def number(self, district: FakeDistrict, events: list[Event]) -> None:
        """Number ``events`` (just made in ``district``); re-sent copies keep theirs."""
        for event in events:
            if event["id"] in self.numbers:
                continue
            count = self.newest.get(district.id, 0) + 1
            self.numbers[event["id"]] = (district.id, count)
            self.newest[district.id] = count

    def record_request(self, method: str, path_qs: str, status: int) -> None:
        super().record_request(method, path_qs, status)
        self.served += 1
        if status != 200 or "/events" not in path_qs:
            return
        after = parse_qs(urlsplit(path_qs).query).get("starting_after")
        found = self.numbers.get(after[0]) if after else None
        if found is not None:
            district_id, count = found
            if count > self.read_up_to.get(district_id, 0):
                self.read_up_to[district_id] = count

    def snapshot_of_newest(self) -> dict[str, int]:
        """Each district's newest event number now."""
        return dict(self.newest)

    def read_past(self, newest: dict[str, int]) -> bool:
        """Whether the pollers have read every district up to ``newest``."""
        return all(self.read_up_to.get(d, 0) >= count for d, count in newest.items())


@dataclass
class Load:
    """Clever's side of the run: random changes in every district at ``rate`` events a
    second until ``events`` were made, with Clever's own quirks now and then."""

    clever: ObservedClever
    districts: list[FakeDistrict]
    events: int
    rate: float
    seed: int
    made: int = 0
    started_at: float = field(default_factory=time.monotonic)
    #: Set once the plan is carried out: the load ends when this and ``events`` are done.
    plan_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Make the changes, a tick every 0.2 s, spread over the districts, until at least
        ``events`` were made and the plan is done."""
        rng = random.Random(self.seed)  # noqa: S311 - a seeded load, not a secret
        self.started_at = time.monotonic()
        tick = 0.2
        while self.made < self.events or not self.plan_done.is_set():
            due = int((time.monotonic() - self.started_at) * self.rate) + 1
            while self.made < due:
                district = rng.choice(self.districts)
                count = min(due - self.made, rng.randint(1, 8))
                made = district.random_changes(
                    count, seed=rng.randrange(2**31), quirks=rng.random() < 0.2
                )
                self.clever.number(district, made)
                self.made += count
            await asyncio.sleep(tick)

    def misbehave(self, fault: str, district: FakeDistrict) -> None:
        """Clever does ``fault`` to ``district``'s feed from now on."""
        faults = self.clever.faults
        events = "/v3.0/events"
        # Each lasts a few seconds of the poller's retries: long enough to be retried, short
        # enough that the recoveries timed around them stay the kills' own.
        if fault == "rate_limit_storm":
            faults.add("rate_limit", times=10, district_id=district.id, retry_after=0.3)
        elif fault == "server_errors":
            faults.add("server_error", times=2, district_id=district.id, status=503)
            faults.add("server_error", times=1, district_id=district.id, status=500)
        elif fault == "timeouts":
            faults.add(
                "slow", times=2, district_id=district.id, path_prefix=events,
                delay=READ_TIMEOUT_S + 1,
            )  # fmt: skip
        elif fault == "truncated":
            faults.add("truncate", times=3, district_id=district.id, path_prefix=events)
        elif fault == "expired_cursor":
            # Clever's 30 days pass: the pollers' cursor is refused and they resync; a new
            # event comes with it, so the resync's bookmark is an event.
            district.expire_events()
            _, made = district.create_student()
            self.clever.number(district, made)
        elif fault == "redelivered":
            district.redeliver(5)
        else:
            raise ValueError(f"unknown Clever fault {fault!r}")
        logger.info("Clever %s on district %s", fault, district.id)
