"""Every configured district in one process: each its own task, its failures its own.

A district whose token is refused, or whose Clever keeps failing, is retried with a capped
backoff while the others go on, and reported failing on the health topic until it commits
again. A district another poller took over (fenced) is dropped from this process. Operators'
resync requests (the requests topic) reach the district's poller here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
from aiokafka.errors import KafkaError

from connectors.client import CleverClient
from connectors.cursors import read_cursor
from connectors.exceptions import CleverApiError, CleverAuthError, PollerFencedError
from connectors.health import HealthReporter
from connectors.metrics import PollerMetrics
from connectors.poller import DistrictPoller, PollOptions, Transactions
from connectors.publisher import DistrictPublisher, PollerTopics
from connectors.requests import RequestWatcher
from connectors.retry import RetryPolicy
from connectors.settings import DistrictConfig, PollerSettings
from foundation.clock import utc_now
from foundation.connection import KafkaConnection
from foundation.exceptions import CleverStreamError
from schemas.codec import Codec
from schemas.records import DeadLetter, DistrictHealth, PollerCursor, RawCleverRecord
from schemas.topics import POLLER_HEALTH, POLLER_REQUESTS

logger = logging.getLogger(__name__)

#: The states of a district that leave the poller ready: polling, or left to another poller.
_READY_STATES = frozenset({"polling", "fenced"})


@dataclass(frozen=True, kw_only=True)
class DistrictStatus:
    """What the runner knows of one district, for status output and tests."""

    district_id: str | None
    running: bool
    commits: int
    failures: int
    last_error: str | None
    fenced: bool
    #: When the district's current run of failures began; None while it makes progress.
    failing_since: datetime | None = None
    #: Failed attempts since it last made progress.
    failing_attempts: int = 0


class PollerRunner:
    """Supervises one :class:`DistrictPoller` per configured district."""

    def __init__(
        self,
        settings: PollerSettings,
        *,
        http: httpx.AsyncClient,
        kafka: KafkaConnection,
        codec: Codec,
        metrics: PollerMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self.metrics = metrics if metrics is not None else PollerMetrics()
        self._monotonic = monotonic
        self._http = http
        self._kafka = kafka
        self._codec = codec
        self._topics = PollerTopics.for_prefix(settings.topic_prefix)
        self._options = PollOptions(
            poll_interval_s=settings.poll_interval_s,
            events_page_size=settings.events_page_size,
            snapshot_page_size=settings.snapshot_page_size,
            rollover_min_events=settings.rollover_min_events,
        )
        self._retry = RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            initial_backoff_s=settings.retry_initial_backoff_s,
            max_backoff_s=settings.retry_max_backoff_s,
            max_retry_after_s=settings.retry_max_retry_after_s,
        )
        self._pollers: dict[str, DistrictPoller] = {}
        self._status: dict[int, DistrictStatus] = {}
        # The districts reported well since this process started.
        self._reported_well: set[int] = set()
        self._requests = RequestWatcher(
            kafka,
            topic=POLLER_REQUESTS.name(settings.topic_prefix),
            codec=codec,
            offer=self._offer,
            retry_s=settings.district_max_backoff_s,
        )
        self._health = HealthReporter(
            kafka,
            topic=POLLER_HEALTH.name(settings.topic_prefix),
            codec=codec,
            timeout_s=settings.kafka_timeout_s,
        )

    @property
    def status(self) -> list[DistrictStatus]:
        """One entry per configured district, in configuration order."""
        return [self._status[index] for index in sorted(self._status)]

    def readiness(self) -> tuple[bool, list[dict[str, object]]]:
        """Whether every district polls (Clever answered it within a few poll intervals)
        and none is failing; and each district's state, for ``/ready``'s body."""
        settings = self._settings
        fresh_s = 3 * settings.poll_interval_s + settings.read_timeout_s
        now = self._monotonic()
        districts: list[dict[str, object]] = []
        for index in sorted(self._status):
            status = self._status[index]
            key = status.district_id or f"#{index}"
            poller = self._pollers.get(status.district_id or "")
            polled = None if poller is None else poller.last_polled
            if status.fenced:
                state, detail = "fenced", "another poller took it over"
            elif status.failing_since is not None:
                since = status.failing_since.isoformat()
                state, detail = "failing", f"since {since}: {status.last_error}"
            elif polled is None:
                state, detail = "starting", "Clever not polled yet"
            elif now - polled > fresh_s:
                state, detail = "stalled", f"Clever last answered {now - polled:.0f} s ago"
            else:
                state, detail = "polling", ""
            districts.append({"district": key, "state": state, "detail": detail})
        ready = bool(districts) and all(entry["state"] in _READY_STATES for entry in districts)
        return ready, districts

    def request_resync(self, reason: str) -> int:
        """Resync every district this process polls now; how many were asked."""
        for poller in self._pollers.values():
            poller.request_resync(reason)
        return len(self._pollers)

    async def run(self) -> None:
        """Poll every district until cancelled (or until every district was fenced)."""
        districts = self._settings.all_districts()
        watching = asyncio.create_task(self._requests.run(), name="resync-requests")
        try:
            async with asyncio.TaskGroup() as group:
                for index, config in enumerate(districts):
                    self._status[index] = DistrictStatus(
                        district_id=config.district_id,
                        running=False,
                        commits=0,
                        failures=0,
                        last_error=None,
                        fenced=False,
                    )
                    group.create_task(self._supervise(index, config), name=f"district-{index}")
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await self._health.close()

    def _offer(self, district_id: str) -> None:
        """Hand the district's latest operator request to its poller, unless taken up."""
        poller = self._pollers.get(district_id)
        request = self._requests.latest.get(district_id)
        if poller is None or request is None or poller.has_taken_up(request.request_id):
            return
        logger.warning(
            "district %s: an operator asked for a resync at %s (request %s)",
            district_id,
            f"{request.requested_at:%Y-%m-%d %H:%M:%S}",
            request.request_id,
        )
        poller.request_resync(f"operator request: {request.reason}", request_id=request.request_id)

    async def _supervise(self, index: int, config: DistrictConfig) -> None:
        client = CleverClient(
            self._http,
            token=config.token.get_secret_value(),
            api_version=config.api_version,
            retry=self._retry,
            district_label=config.district_id or f"#{index}",
            metrics=self.metrics,
        )
        district_id = config.district_id
        backoff = self._settings.district_backoff_s
        while True:
            label = district_id or f"#{index}"
            commits_before = self._status[index].commits
            try:
                if district_id is None:
                    district_id = await _district_of(client, index)
                    self._update(index, district_id=district_id)
                    # A failure reported before the district was known is its own now.
                    await self._health.report(f"#{index}", None)
                await self._poll(client, district_id, index)
            except PollerFencedError as error:
                logger.error("%s", error)  # noqa: TRY400 - expected: no traceback to show
                self._update(index, running=False, fenced=True, last_error=type(error).__name__)
                return
            except CleverAuthError as error:
                logger.error("district %s: %s", label, error)  # noqa: TRY400 - as above
                await self._failed(index, label, error)
            except (CleverStreamError, KafkaError, OSError) as error:
                logger.warning("district %s: %s: %s", label, type(error).__name__, error)
                await self._failed(index, label, error)
            except Exception as error:
                logger.exception("district %s: unexpected failure", label)
                await self._failed(index, label, error)
            if self._status[index].commits > commits_before:
                backoff = self._settings.district_backoff_s
            logger.info("district %s: trying again in %.1fs", label, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._settings.district_max_backoff_s)

    async def _poll(self, client: CleverClient, district_id: str, index: int) -> None:
        settings = self._settings
        async with DistrictPublisher(
            self._kafka,
            district_id=district_id,
            topics=self._topics,
            transactional_id=f"{settings.transactional_prefix}-{district_id}",
            codec=self._codec,
            transaction_timeout_ms=settings.transaction_timeout_ms,
            timeout_s=settings.kafka_timeout_s,
        ) as publisher:
            cursor = await read_cursor(
                self._kafka,
                topic=self._topics.cursors,
                district_id=district_id,
                codec=self._codec,
                timeout_s=settings.kafka_timeout_s,
            )
            poller = DistrictPoller(
                client,
                district_id=district_id,
                transactions=_Progressing(publisher, lambda: self._recovered(index, district_id)),
                options=self._options,
                resync_request_id=None if cursor is None else cursor.resync_request_id,
                metrics=self.metrics,
                monotonic=self._monotonic,
            )
            self._pollers[district_id] = poller
            self._update(index, running=True)
            self._offer(district_id)
            try:
                await poller.run(cursor)
            finally:
                del self._pollers[district_id]
                commits = self._status[index].commits + poller.commits
                self._update(index, running=False, commits=commits)

    async def _failed(self, index: int, key: str, error: BaseException) -> None:
        """Count the failure, and report the district failing (``key``: its ID or ``#n``)."""
        status = self._status[index]
        now = utc_now()
        self._update(
            index,
            running=False,
            failures=status.failures + 1,
            last_error=type(error).__name__,
            failing_since=status.failing_since or now,
            failing_attempts=status.failing_attempts + 1,
        )
        status = self._status[index]
        self.metrics.failing.labels(key).set(1)
        health = DistrictHealth(
            district_id=key,
            failing=True,
            failing_since=status.failing_since,
            failures=status.failing_attempts,
            error_type=type(error).__name__,
            error_message=_safe_message(error),
            updated_at=now,
        )
        await self._health.report(key, health)

    async def _recovered(self, index: int, district_id: str) -> None:
        """After a commit: a district that was failing is reported well again, and so is a
        district's first commit in this process (an earlier one may have left it failing)."""
        if self._status[index].failing_since is None and index in self._reported_well:
            return
        self._update(index, failing_since=None, failing_attempts=0)
        self._reported_well.add(index)
        self.metrics.failing.labels(district_id).set(0)
        logger.info("district %s: making progress", district_id)
        health = DistrictHealth(district_id=district_id, failing=False, updated_at=utc_now())
        await self._health.report(district_id, health)

    def _update(self, index: int, **changes: Any) -> None:
        self._status[index] = replace(self._status[index], **changes)


class _Progressing:
    """A district's transactions, telling the runner after each commit."""

    def __init__(self, inner: Transactions, on_commit: Callable[[], Awaitable[None]]) -> None:
        self._inner = inner
        self._on_commit = on_commit

    async def commit(
        self,
        records: Sequence[RawCleverRecord],
        cursor: PollerCursor,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        await self._inner.commit(records, cursor, dead_letters)
        await self._on_commit()


def _safe_message(error: BaseException) -> str:
    """What a failure says, for the health topic: our own messages name IDs and paths only,
    without their hint; anything else only by its class, which cannot hold a token."""
    if isinstance(error, CleverStreamError | KafkaError):
        return str(error.args[0]) if error.args else type(error).__name__
    return type(error).__name__


async def _district_of(client: CleverClient, index: int) -> str:
    district = await client.district()
    district_id = district.get("id")
    if not isinstance(district_id, str) or not district_id:
        raise CleverApiError(f"Clever named no district for district #{index}'s token")
    logger.info("district #%d is %s", index, district_id)
    return district_id
