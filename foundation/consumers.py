"""Stop a Kafka consumer without waiting on its group for longer than a stop may take."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiokafka import AIOKafkaConsumer

logger = logging.getLogger(__name__)

#: How long a stop waits for a consumer to leave its group.
LEAVE_GROUP_S: Final = 5.0


async def stop_consumer(consumer: AIOKafkaConsumer, *, timeout_s: float = LEAVE_GROUP_S) -> None:
    """Stop ``consumer``, waiting at most ``timeout_s``.

    Leaving the group is one request, but aiokafka first waits for the consumer's
    coordination task, which a join held by the coordinator (a member that does not answer)
    keeps busy for up to the group's rebalance timeout; a broker that is gone holds it too.
    Past the bound the stop is given up: the group drops this member after its session
    timeout, as after a crash, and nothing committed is lost (docs/decisions/0023). Kafka's
    Java consumer bounds its ``close`` the same way.
    """
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.stop()
    except TimeoutError:
        logger.warning(
            "a consumer did not leave its group within %g s (a join still pending, or the "
            "broker gone); the group drops it after its session timeout",
            timeout_s,
        )
