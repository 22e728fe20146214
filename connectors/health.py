"""Each district's health on a compacted topic: failing since when and why, or recovered.

The runner reports a district when it starts failing, on each failure after, and when it next
commits a page; ``clever-stream status`` reads the topic, so a broken district shows whether
its poller runs or not. Reporting never holds up polling: a report Kafka does not take is
logged and the district's latest is sent with the next one.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from foundation.connection import KafkaConnection
from schemas.codec import Codec
from schemas.keys import district_key
from schemas.records import DistrictHealth

logger = logging.getLogger(__name__)


class HealthReporter:
    """Writes ``DistrictHealth`` records, keyed by district, the latest one winning."""

    def __init__(
        self, kafka: KafkaConnection, *, topic: str, codec: Codec, timeout_s: float
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._codec = codec
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        # Reports Kafka did not take yet, by key (None: a tombstone).
        self._unsent: dict[str, DistrictHealth | None] = {}
        self._lock = asyncio.Lock()

    async def report(self, key: str, health: DistrictHealth | None) -> None:
        """Record ``health`` for ``key`` (a district ID, or ``#<n>``); None forgets ``key``."""
        async with self._lock:
            self._unsent[key] = health
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._send_unsent()
            except (KafkaError, OSError, TimeoutError) as error:
                logger.warning(
                    "district %s: its health could not be written to %s (%s); it is sent with "
                    "the next report",
                    key,
                    self._topic,
                    type(error).__name__,
                )

    async def _send_unsent(self) -> None:
        producer = self._producer or await self._start()
        for key, health in list(self._unsent.items()):
            value = None if health is None else self._codec.encode(health)
            await producer.send_and_wait(self._topic, key=district_key(key), value=value)
            del self._unsent[key]

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            **self._kafka.client_options(),
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=int(self._timeout_s * 1000),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        return producer

    async def close(self) -> None:
        """Stop the producer (reports not sent by now are dropped: status shows the last sent)."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
