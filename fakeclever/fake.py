"""The fake Clever as a whole: its districts (one token each), faults, request log, the pollers
that asked (by ``User-Agent``) and server."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiohttp import web

from fakeclever.district import FakeDistrict
from fakeclever.faults import Faults
from fakeclever.ids import derived_hex, district_tag
from fakeclever.pollers import MinuteCounts, Overlap, PollerLog, PollerRun
from fakeclever.population import Population
from fakeclever.server import build_app
from foundation.clock import utc_now

logger = logging.getLogger(__name__)
RATE_LIMIT_PER_MINUTE = 1200
#: ``overlapping_runs``' default: a poller comes back to a district it owns within this.
OVERLAP_GAP_S = 120.0
_SHUTDOWN_TIMEOUT_S = 2.0


class FakeClever:
    """Clever's API for any number of fake districts, served over real HTTP.

    ``clock`` returns an aware UTC datetime; it stamps events and changes and decides the
    30-day event window, so tests can move time. ``rate_limit`` makes the server answer 429
    after that many requests per token per (wall-clock) minute, as Clever does; by default the
    headers count but nothing is refused.
    """

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        *,
        rate_limit: int | None = None,
        request_log_size: int = 10_000,
    ) -> None:
        self.clock = clock or utc_now
        self.rate_limit = rate_limit
        self.faults = Faults()
        #: (method, path and query, status) of the requests served, oldest first.
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=request_log_size)
        #: Every district, in the order added (``district()`` finds one by ID at once).
        self.districts: list[FakeDistrict] = []
        self._by_id: dict[str, FakeDistrict] = {}
        self._by_token: dict[str, FakeDistrict] = {}
        self._minutes = MinuteCounts()
        self._pollers = PollerLog()

    def add_district(
        self,
        seed: int = 0,
        contacts: int = 200,
        students: int | None = None,
        token: str | None = None,
        district_id: str | None = None,
        studentcontacts_naming: bool = False,
    ) -> FakeDistrict:
        """A new district of ``contacts`` contacts and ``students`` (default contacts / 2)
        students, derived lazily from ``seed``: adding a million contacts is instant."""
        ordinal = len(self.districts)
        district_id = district_id or derived_hex("district", seed, ordinal)
        if district_id in self._by_id:
            raise ValueError(f"district {district_id} already exists")
        token = token or derived_hex("token", seed, ordinal, length=40)
        if token in self._by_token:
            raise ValueError("that token already belongs to another district")
        students = students if students is not None else max(1, contacts // 2)
        population = Population(
            seed=seed, tag=district_tag(district_id), contacts=contacts, students=students
        )
        district = FakeDistrict(
            district_id=district_id,
            token=token,
            name=f"Fake District {ordinal + 1}",
            population=population,
            clock=self.clock,
            studentcontacts_naming=studentcontacts_naming,
        )
        self.districts.append(district)
        self._by_id[district_id] = district
        self._by_token[token] = district
        logger.debug("district %s added: %d contacts, %d students", district.id, contacts, students)
        return district

    def district(self, district_id: str) -> FakeDistrict:
        """A district by ID."""
        return self._by_id[district_id]

    def district_for_token(self, token: str) -> FakeDistrict | None:
        """The district a bearer token opens, or None."""
        return self._by_token.get(token)

    def record_request(self, method: str, path_qs: str, status: int) -> None:
        """Add a served request to :attr:`requests`."""
        self.requests.append((method, path_qs, status))

    def rate_limit_headers(self, district: FakeDistrict) -> dict[str, str]:
        """Clever's ``X-RateLimit-*`` headers, counting this request against its minute."""
        minute = int(time.time() // 60)
        used = self._minutes.count(district.token, minute)
        limit = self.rate_limit or RATE_LIMIT_PER_MINUTE
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str((minute + 1) * 60),
            "X-RateLimit-Bucket": district.id,
        }

    def over_rate_limit(self, district: FakeDistrict) -> bool:
        """Whether an enforced rate limit is used up for this minute."""
        if self.rate_limit is None:
            return False
        return self._minutes.used(district.token, int(time.time() // 60)) >= self.rate_limit

    def record_poller(self, district: FakeDistrict, user_agent: str, at: float) -> None:
        """A request of ``user_agent`` to ``district`` arrived at ``at`` (``time.monotonic()``)."""
        self._pollers.record(district.id, user_agent, at)

    def poller_runs(self, district_id: str) -> list[PollerRun]:
        """The district's runs of consecutive requests by one ``User-Agent``, oldest first."""
        return self._pollers.runs(district_id)

    def overlapping_runs(
        self, *, gap_s: float = OVERLAP_GAP_S, tolerance: int = 1
    ) -> list[Overlap]:
        """The districts two pollers polled at once (``fakeclever.pollers.overlaps`` says
        how that is told from a handover): empty when every district had one owner at a time.

        ``gap_s``: the longest a live poller leaves a district it owns unpolled (its idle poll
        interval, with a margin); ``tolerance``: requests forgiven at a handover.
        """
        return self._pollers.overlaps(gap_s=gap_s, tolerance=tolerance)

    def busiest_minute(self) -> int:
        """The most requests one token made in one wall-clock minute, 429s included."""
        return self._minutes.busiest()

    def stats(self) -> dict[str, Any]:
        """The request statistics as JSON (``GET /_fake/stats``): ``busiest_minute``, the
        ``overlapping`` districts, how many districts were ``polled``, and the ``agents``."""
        return {
            "busiest_minute": self.busiest_minute(),
            "overlapping": sorted({o.district_id for o in self.overlapping_runs()}),
            "polled": len(self._pollers.districts()),
            "agents": sorted(self._pollers.agents()),
        }

    def make_changes(self, district_id: str, count: int) -> list[str]:
        """``count`` random changes in one district as one batch (``POST /_fake/changes``);
        the IDs of the events made."""
        district = self._by_id[district_id]
        made = district.random_changes(count, seed=len(district.events()) + 1)
        return [event["id"] for event in made]

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve every district on ``host:port`` (0 picks a free port); yields the base URL."""
        runner = web.AppRunner(
            build_app(self),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            base_url = f"http://{host}:{bound_port}"
            logger.info("fake Clever serving on %s (%s)", base_url, bound_host)
            yield base_url
        finally:
            await runner.cleanup()
