"""Operators' resync requests, read from the requests topic and handed to the pollers.

``clever-stream resync`` writes a ``ResyncRequest`` per district to a compacted topic; every
poller process reads that topic from its start and then follows it. A request goes to the
district's poller if this process polls the district and the district's cursor has not taken
it up yet (the cursor keeps the ID of the last request taken up, written in the transaction
that starts the resync). So a request is taken up once, by whichever poller owns the
district, running or started later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from foundation.connection import KafkaConnection
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.records import ResyncRequest

logger = logging.getLogger(__name__)

#: The requests topic has one partition (schemas.topics.POLLER_REQUESTS).
REQUESTS_PARTITION = 0
#: How long one fetch waits for a new request.
_FETCH_WAIT_MS = 1000


class RequestWatcher:
    """Keeps the latest request per district, and calls ``offer`` with each district that
    gets one (the runner hands it to the district's poller if it has one)."""

    def __init__(
        self,
        kafka: KafkaConnection,
        *,
        topic: str,
        codec: Codec,
        offer: Callable[[str], None],
        retry_s: float,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._codec = codec
        self._offer = offer
        self._retry_s = retry_s
        self.latest: dict[str, ResyncRequest] = {}

    async def run(self) -> None:
        """Follow the topic until cancelled; Kafka's failures are logged and retried."""
        while True:
            try:
                await self._follow()
            except (KafkaError, OSError) as error:
                logger.warning(
                    "resync requests on %s cannot be read (%s); trying again in %.0fs",
                    self._topic,
                    type(error).__name__,
                    self._retry_s,
                )
            await asyncio.sleep(self._retry_s)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        partition = TopicPartition(self._topic, REQUESTS_PARTITION)
        try:
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            while True:
                batches = await consumer.getmany(partition, timeout_ms=_FETCH_WAIT_MS)
                for message in batches.get(partition, []):
                    self._take(message.value)
        finally:
            await consumer.stop()

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            request = self._codec.decode(value, ResyncRequest)
        except DecodeError as error:
            logger.warning("a resync request on %s cannot be read: %s", self._topic, error)
            return
        self.latest[request.district_id] = request
        self._offer(request.district_id)
