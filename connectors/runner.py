"""One poller of a fleet: the districts of the shards it owns, stepped by a few poll slots.

The districts come from the registry (environment, file, districts topic), kept current at
run time. Each district belongs to one shard, the cursor topic's partition its ID hashes to;
the pollers' consumer group gives each poller its shards (``ShardMembership``), and each
owned shard has one transactional producer (``ShardPublisher``) that fences the shard's
previous owner when it starts. The districts of the owned shards are stepped page by page by
a fixed number of slots (``StepScheduler``), every request paced per token (``TokenPacer``),
so memory, tasks and connections grow with the slots and the shards, not with the districts.

A district whose token is refused, or whose Clever keeps failing, is retried with a capped
backoff while the others go on, and reported failing on the health topic until it commits
again. A shard another poller took over (fenced) is dropped until the group gives it back.
Operators' resync requests (the requests topic) reach the district's poller here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import httpx
from aiokafka.errors import KafkaError

from connectors.client import CleverClient
from connectors.exceptions import CleverApiError, CleverAuthError, PollerFencedError
from connectors.health import HealthReporter
from connectors.membership import ShardMembership
from connectors.metrics import PollerMetrics
from connectors.pacing import TokenPacer
from connectors.poller import DistrictPoller, PollOptions, Transactions
from connectors.publisher import PollerTopics, ShardPublisher, shard_transactional_id
from connectors.registry import DistrictRegistry
from connectors.requests import RequestWatcher
from connectors.retry import RetryPolicy
from connectors.scheduler import StepScheduler
from connectors.settings import DistrictConfig, PollerSettings
from foundation.clock import utc_now
from foundation.connection import KafkaConnection
from foundation.exceptions import CleverStreamError, KafkaUnavailableError
from foundation.kafka_errors import retrying
from foundation.reading import partition_counts
from schemas.codec import Codec
from schemas.keys import district_key
from schemas.partitioning import partition_for
from schemas.records import DeadLetter, DistrictHealth, PollerCursor, RawCleverRecord
from schemas.topics import POLLER_HEALTH, POLLER_REQUESTS

logger = logging.getLogger(__name__)

#: The states of a district that leave the poller ready: polling, or left to another poller.
_READY_STATES = frozenset({"polling", "fenced"})
#: Between looks for a cursor topic not described yet.
_TOPIC_WAIT_S = 0.5


@dataclass(frozen=True, kw_only=True)
class DistrictStatus:
    """What the runner knows of one district, for status output and tests."""

    district_id: str | None
    running: bool
    commits: int
    failures: int
    last_error: str | None
    #: Its shard was taken over by another poller while this one still held it.
    fenced: bool
    #: When the district's current run of failures began; None while it makes progress.
    failing_since: datetime | None = None
    #: Failed attempts since it last made progress.
    failing_attempts: int = 0
    #: Whether one of this poller's shards holds it.
    owned: bool = False


@dataclass(kw_only=True)
class _District:
    """One district known to the registry, and what this poller keeps of it."""

    key: str
    config: DistrictConfig
    client: CleverClient
    district_id: str | None
    status: DistrictStatus
    backoff_s: float
    poller: DistrictPoller | None = None
    #: Whether the last health report said well (None: nothing reported by this process).
    reported_well: bool | None = None


class PollerRunner:
    """Polls the districts of the shards this poller owns, until cancelled."""

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
            active_for_s=settings.effective_active_for_s,
            idle_poll_interval_s=settings.effective_idle_poll_interval_s,
            events_page_size=settings.events_page_size,
            snapshot_page_size=settings.snapshot_page_size,
            sync_transaction_records=settings.sync_transaction_records,
            rollover_min_events=settings.rollover_min_events,
        )
        self._retry = RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            initial_backoff_s=settings.retry_initial_backoff_s,
            max_backoff_s=settings.retry_max_backoff_s,
            max_retry_after_s=settings.retry_max_retry_after_s,
        )
        self._pacer = TokenPacer(settings.rate_limit_per_minute, monotonic=monotonic)
        self._scheduler: StepScheduler[str] = StepScheduler(
            self._step, slots=settings.max_concurrent_polls, monotonic=monotonic
        )
        self._registry = DistrictRegistry(
            settings, kafka=kafka, codec=codec, on_change=self._changed
        )
        self._membership = ShardMembership(
            kafka,
            topic=self._topics.cursors,
            group_id=settings.pollers_group_id,
            instance_id=settings.instance_id,
            on_assigned=self._assigned,
            on_revoked=self._revoked,
            session_timeout_ms=settings.group_session_timeout_ms,
        )
        #: The cursor topic's partitions: the shards of the deployment (known at run()).
        self._shard_count = 0
        self._shards: dict[int, ShardPublisher] = {}
        self._starting: dict[int, asyncio.Task[None]] = {}
        self._districts: dict[str, _District] = {}
        # District ID -> registry key (the same but for entries without an ID, "#<n>").
        self._keys: dict[str, str] = {}
        # Districts the registry dropped, whose pollers reconcile stops.
        self._retired: list[_District] = []
        self._reconcile_needed = asyncio.Event()
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
        """One entry per district the registry lists, in its order."""
        return [district.status for district in self._districts.values()]

    @property
    def shards(self) -> frozenset[int]:
        """The shards this poller owns and publishes for now."""
        return frozenset(self._shards)

    def readiness(self) -> tuple[bool, list[dict[str, object]]]:
        """Whether the poller is in its group and every district it owns polls (Clever
        answered it lately) and none is failing; and each such district's state, for
        ``/ready``'s body. A poller given no shard (the fleet has more pollers than shards)
        is ready: it stands by."""
        settings = self._settings
        fresh_s = 3 * settings.effective_idle_poll_interval_s + settings.read_timeout_s
        now = self._monotonic()
        districts: list[dict[str, object]] = []
        for district in self._districts.values():
            status = district.status
            if not (status.owned or status.fenced or district.district_id is None):
                continue
            polled = None if district.poller is None else district.poller.last_polled
            if status.fenced:
                state, detail = "fenced", "another poller took its shard over"
            elif status.failing_since is not None:
                since = status.failing_since.isoformat()
                state, detail = "failing", f"since {since}: {status.last_error}"
            elif polled is None:
                state, detail = "starting", "Clever not polled yet"
            elif now - polled > fresh_s:
                state, detail = "stalled", f"Clever last answered {now - polled:.0f} s ago"
            else:
                state, detail = "polling", ""
            districts.append({"district": district.key, "state": state, "detail": detail})
        joined = self._membership.joined and not self._starting
        ready = joined and all(entry["state"] in _READY_STATES for entry in districts)
        return ready, districts

    def request_resync(self, reason: str) -> int:
        """Resync every district this process polls now; how many were asked."""
        pollers = [d.poller for d in self._districts.values() if d.poller is not None]
        for poller in pollers:
            poller.request_resync(reason)
        return len(pollers)

    async def run(self) -> None:
        """Poll the owned shards' districts until cancelled."""
        self._shard_count = await self._count_shards()
        self._update_districts()
        gauges = self.metrics
        gauges.districts_owned.set_function(lambda: len(self._scheduler))
        gauges.shards_owned.set_function(lambda: len(self._shards))
        loop = asyncio.get_running_loop()
        gauges.tasks.set_function(lambda: len(asyncio.all_tasks(loop)))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._registry.run(), name="districts")
                await self._registry.loaded()
                group.create_task(self._scheduler.run(), name="poll-slots")
                group.create_task(self._reconciling(), name="reconcile")
                group.create_task(self._requests.run(), name="resync-requests")
                group.create_task(self._membership.run(), name="shards")
        finally:
            await self._stop_shards(frozenset(self._shards) | frozenset(self._starting))
            await self._health.close()

    async def _count_shards(self) -> int:
        """The cursor topic's partitions, waited for a while: a topic just created may not be
        described yet, and a broker just killed may still be in the metadata."""
        topic = self._topics.cursors
        deadline = self._monotonic() + self._settings.kafka_timeout_s
        while True:
            counts = await retrying(
                lambda: partition_counts(self._kafka, [topic]),
                timeout_s=self._settings.kafka_timeout_s,
            )
            if topic in counts:
                logger.info("%d shards (the partitions of %s)", counts[topic], topic)
                return counts[topic]
            if self._monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"the cursor topic {topic} does not exist",
                    hint="create the pipeline's topics first (clever-stream topics create)",
                )
            await asyncio.sleep(_TOPIC_WAIT_S)

    # The districts: the registry's, each owned or not.

    def _changed(self) -> None:
        self._update_districts()
        self._reconcile_needed.set()

    def _update_districts(self) -> None:
        """Follow the registry: new districts are added, gone ones dropped (by reconcile)."""
        current = self._registry.current()
        for key, config in current.items():
            known = self._districts.get(key)
            if known is not None and known.config == config:
                continue
            if known is not None:
                # Its token or version changed: it starts over with a new client.
                self._districts.pop(key)
                self._forget(known)
            self._districts[key] = self._new_district(key, config)
            if config.district_id is not None:
                self._keys[config.district_id] = key
        for key in [key for key in self._districts if key not in current]:
            self._forget(self._districts.pop(key))

    def _new_district(self, key: str, config: DistrictConfig) -> _District:
        label = config.district_id or key
        client = CleverClient(
            self._http,
            token=config.token.get_secret_value(),
            api_version=config.api_version,
            retry=self._retry,
            district_label=label,
            metrics=self.metrics,
            pacer=self._pacer,
        )
        status = DistrictStatus(
            district_id=config.district_id,
            running=False,
            commits=0,
            failures=0,
            last_error=None,
            fenced=False,
        )
        return _District(
            key=key,
            config=config,
            client=client,
            district_id=config.district_id,
            status=status,
            backoff_s=self._settings.district_backoff_s,
        )

    def _forget(self, district: _District) -> None:
        """A district the registry no longer lists: its poller stops (by reconcile)."""
        self._pacer.forget(district.config.token.get_secret_value())
        district_id = district.district_id
        if district_id is not None and self._keys.get(district_id) == district.key:
            del self._keys[district_id]
        self._retired.append(district)

    def _shard_of(self, district_id: str) -> int:
        return partition_for(district_key(district_id), self._shard_count)

    def _owns(self, district: _District) -> bool:
        """Whether this poller steps the district: its shard is owned, or it is not known yet
        (every poller asks Clever whose token it is, then keeps it only if its shard's)."""
        if district.district_id is None:
            return True
        return self._shard_of(district.district_id) in self._shards

    async def _reconciling(self) -> None:
        while True:
            await self._reconcile_needed.wait()
            self._reconcile_needed.clear()
            await self._reconcile()

    async def _reconcile(self) -> None:
        """Schedule the owned districts, unschedule the rest, and stop retired pollers."""
        retired, self._retired = self._retired, []
        await self._scheduler.remove(district.key for district in retired)
        for district in retired:
            await self._drop_poller(district)
        dropped = [d for d in self._districts.values() if not self._owns(d)]
        await self._scheduler.remove(d.key for d in dropped)
        for district in dropped:
            await self._drop_poller(district)
            if district.status.owned:
                self._update(district, owned=False, running=False)
        for district in self._districts.values():
            if self._owns(district) and not district.status.owned:
                self._update(district, owned=True, fenced=False)
                self._scheduler.add(district.key)

    async def _drop_poller(self, district: _District) -> None:
        poller, district.poller = district.poller, None
        if poller is not None:
            commits = district.status.commits + poller.commits
            self._update(district, running=False, commits=commits)
            await poller.close()

    # Shards: given and taken by the group.

    def _assigned(self, shards: frozenset[int]) -> None:
        for shard in shards:
            if shard not in self._shards and shard not in self._starting:
                self._starting[shard] = asyncio.create_task(
                    self._start_shard(shard), name=f"shard-{shard}-start"
                )

    async def _revoked(self, shards: frozenset[int]) -> None:
        await self._stop_shards(shards)

    async def _start_shard(self, shard: int) -> None:
        """Start the shard's producer (fencing its previous owner), retried while owned."""
        settings = self._settings
        wait = settings.district_backoff_s
        try:
            while True:
                publisher = ShardPublisher(
                    self._kafka,
                    shard=shard,
                    shards=self._shard_count,
                    topics=self._topics,
                    transactional_id=shard_transactional_id(settings.transactional_prefix, shard),
                    codec=self._codec,
                    transaction_timeout_ms=settings.transaction_timeout_ms,
                    timeout_s=settings.kafka_timeout_s,
                )
                try:
                    await publisher.__aenter__()
                except (CleverStreamError, KafkaError, OSError, TimeoutError) as error:
                    logger.warning(
                        "shard %d: cannot start its producer (%s); trying again in %.1fs",
                        shard,
                        type(error).__name__,
                        wait,
                    )
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, settings.district_max_backoff_s)
                    continue
                self._shards[shard] = publisher
                logger.info("shard %d: publishing", shard)
                break
        finally:
            self._starting.pop(shard, None)
        self._reconcile_needed.set()

    async def _stop_shards(self, shards: frozenset[int]) -> None:
        """Stop the shards' districts and producers (their steps cancelled and waited for)."""
        for shard in shards:
            starting = self._starting.pop(shard, None)
            if starting is not None:
                starting.cancel()
                await asyncio.wait([starting])
        stopping = {shard: self._shards.pop(shard) for shard in shards if shard in self._shards}
        if not stopping:
            return
        await self._reconcile()
        # Side by side: each waits on Kafka a bounded time, and the shards need not add up.
        await asyncio.gather(
            *(publisher.__aexit__(None, None, None) for publisher in stopping.values())
        )
        logger.info("shards stopped: %s", sorted(stopping))

    def _lose_shard(self, shard: int) -> None:
        """The shard was fenced: another poller took it; its districts stop (by reconcile)."""
        publisher = self._shards.pop(shard, None)
        if publisher is None:
            return
        for district in self._districts.values():
            if district.district_id is not None and self._shard_of(district.district_id) == shard:
                self._update(district, fenced=True)
        task = asyncio.create_task(publisher.__aexit__(None, None, None))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._reconcile_needed.set()

    # One step of a district.

    async def _step(self, key: str) -> float:
        district = self._districts.get(key)
        if district is None:
            return self._options.idle_poll_interval_s
        label = district.district_id or key
        try:
            wait = await self._step_district(district)
        except PollerFencedError as error:
            logger.error("%s", error)  # noqa: TRY400 - expected: no traceback to show
            if district.district_id is not None:
                self._lose_shard(self._shard_of(district.district_id))
            return self._options.idle_poll_interval_s
        except CleverAuthError as error:
            logger.error("district %s: %s", label, error)  # noqa: TRY400 - as above
            return await self._failed(district, error)
        except (CleverStreamError, KafkaError, OSError, TimeoutError) as error:
            logger.warning("district %s: %s: %s", label, type(error).__name__, error)
            return await self._failed(district, error)
        except Exception as error:
            logger.exception("district %s: unexpected failure", label)
            return await self._failed(district, error)
        return wait

    async def _step_district(self, district: _District) -> float:
        if district.district_id is None:
            district.district_id = await _district_of(district.client, district.key)
            self._keys[district.district_id] = district.key
            self._update(district, district_id=district.district_id)
            # A failure reported before the district was known is its own now.
            await self._health.report(district.key, None)
            if not self._owns(district):
                self._reconcile_needed.set()
                return self._options.idle_poll_interval_s
        district_id = district.district_id
        publisher = self._shards.get(self._shard_of(district_id))
        if publisher is None:
            self._reconcile_needed.set()
            return self._options.idle_poll_interval_s
        if district.poller is None:
            cursor = await publisher.cursor_of(district_id)
            district.poller = DistrictPoller(
                district.client,
                district_id=district_id,
                transactions=_Progressing(publisher, lambda: self._recovered(district)),
                options=self._options,
                cursor=cursor,
                resync_request_id=None if cursor is None else cursor.resync_request_id,
                metrics=self.metrics,
                monotonic=self._monotonic,
                on_wake=lambda: self._scheduler.wake(district.key),
            )
            self._update(district, running=True)
            self._offer(district_id)
        return await district.poller.step()

    def _offer(self, district_id: str) -> None:
        """Hand the district's latest operator request to its poller, unless taken up."""
        key = self._keys.get(district_id)
        district = None if key is None else self._districts.get(key)
        poller = None if district is None else district.poller
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

    async def _failed(self, district: _District, error: BaseException) -> float:
        """Count the failure, report the district failing, and drop its poller (the next
        attempt starts from the committed cursor); the wait before that attempt."""
        await self._drop_poller(district)
        status = district.status
        now = utc_now()
        self._update(
            district,
            failures=status.failures + 1,
            last_error=type(error).__name__,
            failing_since=status.failing_since or now,
            failing_attempts=status.failing_attempts + 1,
        )
        status = district.status
        key = district.district_id or district.key
        self.metrics.failing.labels(key).set(1)
        district.reported_well = False
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
        wait = district.backoff_s
        logger.info("district %s: trying again in %.1fs", key, wait)
        district.backoff_s = min(wait * 2, self._settings.district_max_backoff_s)
        return wait

    async def _recovered(self, district: _District) -> None:
        """After a commit: its backoff starts over; a district that was failing is reported
        well again, and so is a district's first commit in this process (an earlier one may
        have left it failing)."""
        district.backoff_s = self._settings.district_backoff_s
        if district.reported_well:
            return
        district_id = district.district_id or district.key
        self._update(district, failing_since=None, failing_attempts=0)
        district.reported_well = True
        self.metrics.failing.labels(district_id).set(0)
        logger.info("district %s: making progress", district_id)
        health = DistrictHealth(district_id=district_id, failing=False, updated_at=utc_now())
        await self._health.report(district_id, health)

    def _update(self, district: _District, **changes: object) -> None:
        district.status = replace(district.status, **changes)  # type: ignore[arg-type]


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


async def _district_of(client: CleverClient, key: str) -> str:
    district = await client.district()
    district_id = district.get("id")
    if not isinstance(district_id, str) or not district_id:
        raise CleverApiError(f"Clever named no district for district {key}'s token")
    logger.info("district %s is %s", key, district_id)
    return district_id
