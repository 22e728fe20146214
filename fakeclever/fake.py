"""The fake Clever as a whole: its districts (one token each), faults, request log and server."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from aiohttp import web

from fakeclever.district import FakeDistrict
from fakeclever.faults import Faults
from fakeclever.ids import derived_hex, district_tag
from fakeclever.population import Population
from fakeclever.server import build_app
from foundation.clock import utc_now

logger = logging.getLogger(__name__)
RATE_LIMIT_PER_MINUTE = 1200
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
        self.districts: list[FakeDistrict] = []
        self._by_token: dict[str, FakeDistrict] = {}
        self._minute_counts: dict[str, tuple[int, int]] = {}

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
        if any(d.id == district_id for d in self.districts):
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
        self._by_token[token] = district
        logger.info("district %s added: %d contacts, %d students", district.id, contacts, students)
        return district

    def district(self, district_id: str) -> FakeDistrict:
        """A district by ID."""
        for district in self.districts:
            if district.id == district_id:
                return district
        raise KeyError(district_id)

    def district_for_token(self, token: str) -> FakeDistrict | None:
        """The district a bearer token opens, or None."""
        return self._by_token.get(token)

    def record_request(self, method: str, path_qs: str, status: int) -> None:
        """Add a served request to :attr:`requests`."""
        self.requests.append((method, path_qs, status))

    def rate_limit_headers(self, district: FakeDistrict) -> dict[str, str]:
        """Clever's ``X-RateLimit-*`` headers, counting this request against its minute."""
        minute = int(time.time() // 60)
        seen_minute, used = self._minute_counts.get(district.token, (minute, 0))
        used = used + 1 if seen_minute == minute else 1
        self._minute_counts[district.token] = (minute, used)
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
        minute, used = self._minute_counts.get(district.token, (0, 0))
        return minute == int(time.time() // 60) and used >= self.rate_limit

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
