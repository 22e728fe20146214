"""Which shards this poller owns: a Kafka consumer group over the cursor topic's partitions.

Every poller of a deployment joins one consumer group subscribed to the cursor topic; the
group's assignment of its partitions is the assignment of shards. Kafka does the rest: a
poller that joins or leaves, or stops heartbeating (killed), moves shards. The group is
eager: every member gives up its shards (``on_revoked``, awaited: the shard's districts stop
and its producer closes) before any member is given new ones, so two pollers never poll a
district at once; a zombie that missed the rebalance is fenced by the shard's transactional ID
at its next commit. The consumer reads nothing: its partitions stay paused, and it is polled
only so that Kafka keeps it in the group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from foundation.connection import KafkaConnection

logger = logging.getLogger(__name__)

#: How long one idle poll of the paused consumer waits (it keeps the member alive).
_POLL_MS = 1000


class ShardMembership:
    """Joins the pollers' group and reports the shards given to and taken from this poller."""

    def __init__(
        self,
        kafka: KafkaConnection,
        *,
        topic: str,
        group_id: str,
        instance_id: str,
        on_assigned: Callable[[frozenset[int]], None],
        on_revoked: Callable[[frozenset[int]], Awaitable[None]],
        session_timeout_ms: int = 10_000,
    ) -> None:
        self._topic = topic
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        #: Whether the group has given this poller its first assignment (maybe none).
        self.joined = False
        self._owned: frozenset[int] = frozenset()
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            group_id=group_id,
            client_id=f"clever-stream-poller-{instance_id}",
            enable_auto_commit=False,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(1000, session_timeout_ms // 5),
        )

    async def run(self) -> None:
        """Stay in the group until cancelled; leaving it hands the shards over at once."""
        consumer = self._consumer
        await consumer.start()
        try:
            consumer.subscribe([self._topic], listener=_Listener(self))
            while True:
                await consumer.getmany(timeout_ms=_POLL_MS)
        finally:
            # The shards stop before the group hears that this poller left.
            owned, self._owned = self._owned, frozenset()
            try:
                if owned:
                    await asyncio.shield(self._on_revoked(owned))
            finally:
                await consumer.stop()

    async def assigned(self, partitions: AbstractSet[TopicPartition]) -> None:
        """The group gave this poller ``partitions``: pause them and start their shards."""
        self._consumer.pause(*partitions)
        shards = frozenset(tp.partition for tp in partitions if tp.topic == self._topic)
        self.joined = True
        self._owned = shards
        logger.info("shards assigned: %s", sorted(shards) or "none")
        self._on_assigned(shards)

    async def revoked(self, partitions: AbstractSet[TopicPartition]) -> None:
        """The group takes ``partitions`` back: their shards stop before this returns."""
        shards = frozenset(tp.partition for tp in partitions if tp.topic == self._topic)
        self._owned = self._owned - shards
        if shards:
            logger.info("shards revoked: %s", sorted(shards))
            await self._on_revoked(shards)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, membership: ShardMembership) -> None:
        self._membership = membership

    async def on_partitions_revoked(self, revoked: AbstractSet[TopicPartition]) -> None:
        await self._membership.revoked(revoked)

    async def on_partitions_assigned(self, assigned: AbstractSet[TopicPartition]) -> None:
        await self._membership.assigned(assigned)
