"""Every configured district in one process: each its own task, its failures its own.

A district whose token is refused, or whose Clever keeps failing, is reported and retried
with a capped backoff while the others go on. A district another poller took over (fenced)
is dropped from this process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

import httpx
from aiokafka.errors import KafkaError

from connectors.client import CleverClient
from connectors.cursors import read_cursor
from connectors.exceptions import CleverApiError, CleverAuthError, PollerFencedError
from connectors.poller import DistrictPoller, PollOptions
from connectors.publisher import DistrictPublisher, PollerTopics
from connectors.retry import RetryPolicy
from connectors.settings import DistrictConfig, PollerSettings
from foundation.exceptions import CleverStreamError
from schemas.codec import Codec

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DistrictStatus:
    """What the runner knows of one district, for status output and tests."""

    district_id: str | None
    running: bool
    commits: int
    failures: int
    last_error: str | None
    fenced: bool


class PollerRunner:
    """Supervises one :class:`DistrictPoller` per configured district."""

    def __init__(
        self,
        settings: PollerSettings,
        *,
        http: httpx.AsyncClient,
        bootstrap_servers: str,
        codec: Codec,
    ) -> None:
        self._settings = settings
        self._http = http
        self._bootstrap_servers = bootstrap_servers
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

    @property
    def status(self) -> list[DistrictStatus]:
        """One entry per configured district, in configuration order."""
        return [self._status[index] for index in sorted(self._status)]

    def request_resync(self, reason: str) -> int:
        """Resync every district this process polls now; how many were asked."""
        for poller in self._pollers.values():
            poller.request_resync(reason)
        return len(self._pollers)

    async def run(self) -> None:
        """Poll every district until cancelled (or until every district was fenced)."""
        districts = self._settings.all_districts()
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

    async def _supervise(self, index: int, config: DistrictConfig) -> None:
        client = CleverClient(
            self._http,
            token=config.token.get_secret_value(),
            api_version=config.api_version,
            retry=self._retry,
            district_label=config.district_id or f"#{index}",
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
                await self._poll(client, district_id, index)
            except PollerFencedError as error:
                logger.error("%s", error)  # noqa: TRY400 - expected: no traceback to show
                self._update(index, running=False, fenced=True, last_error=type(error).__name__)
                return
            except CleverAuthError as error:
                logger.error("district %s: %s", label, error)  # noqa: TRY400 - as above
                self._failed(index, error)
            except (CleverStreamError, KafkaError, OSError) as error:
                logger.warning("district %s: %s: %s", label, type(error).__name__, error)
                self._failed(index, error)
            except Exception as error:
                logger.exception("district %s: unexpected failure", label)
                self._failed(index, error)
            if self._status[index].commits > commits_before:
                backoff = self._settings.district_backoff_s
            logger.info("district %s: trying again in %.1fs", label, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._settings.district_max_backoff_s)

    async def _poll(self, client: CleverClient, district_id: str, index: int) -> None:
        settings = self._settings
        async with DistrictPublisher(
            self._bootstrap_servers,
            district_id=district_id,
            topics=self._topics,
            transactional_id=f"{settings.transactional_prefix}-{district_id}",
            codec=self._codec,
            transaction_timeout_ms=settings.transaction_timeout_ms,
            timeout_s=settings.kafka_timeout_s,
        ) as publisher:
            cursor = await read_cursor(
                self._bootstrap_servers,
                topic=self._topics.cursors,
                district_id=district_id,
                codec=self._codec,
                timeout_s=settings.kafka_timeout_s,
            )
            poller = DistrictPoller(
                client, district_id=district_id, transactions=publisher, options=self._options
            )
            self._pollers[district_id] = poller
            self._update(index, running=True)
            try:
                await poller.run(cursor)
            finally:
                del self._pollers[district_id]
                commits = self._status[index].commits + poller.commits
                self._update(index, running=False, commits=commits)

    def _failed(self, index: int, error: BaseException) -> None:
        failures = self._status[index].failures + 1
        self._update(index, running=False, failures=failures, last_error=type(error).__name__)

    def _update(self, index: int, **changes: Any) -> None:
        self._status[index] = replace(self._status[index], **changes)


async def _district_of(client: CleverClient, index: int) -> str:
    district = await client.district()
    district_id = district.get("id")
    if not isinstance(district_id, str) or not district_id:
        raise CleverApiError(f"Clever named no district for district #{index}'s token")
    logger.info("district #%d is %s", index, district_id)
    return district_id
