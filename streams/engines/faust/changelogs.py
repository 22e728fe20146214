"""Create the worker's table changelog topics before Faust starts, and wait until they show.

The changelogs are created here with Faust's own names and settings, and the worker starts
only once the broker's metadata lists them, so Faust finds them in place. A changelog Faust
creates itself as the app starts can be missing from the metadata the group is assigned
from, and the agent then crashes on its first write to the table (docs/decisions/0018).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.types import TableT
from mode.utils.times import want_seconds

from foundation.admin import create_missing_topics
from foundation.connection import KafkaConnection
from foundation.exceptions import TopicSetupError
from foundation.kafka_errors import kafka_errors, retrying

logger = logging.getLogger(__name__)

_NO_ERROR = 0
_METADATA_POLL_S = 0.1


def changelog_topics(
    tables: Iterable[TableT[Any, Any]], *, replication_factor: int
) -> list[NewTopic]:
    """Each table's changelog topic as Faust creates it: compacted, partitioned like it."""
    topics = []
    for table in tables:
        changelog = table.changelog_topic
        config = {"cleanup.policy": "compact", **(changelog.config or {})}
        if changelog.retention is not None:
            config["retention.ms"] = str(int(want_seconds(changelog.retention) * 1000))
        topics.append(
            NewTopic(
                name=changelog.get_topic_name(),
                # Faust's own fallback when it declares the topic (Topic.declare).
                num_partitions=(
                    table.partitions or changelog.partitions or table.app.conf.topic_partitions
                ),
                replication_factor=replication_factor,
                topic_configs=config,
            )
        )
    return topics


async def ensure_changelog_topics(
    kafka: KafkaConnection,
    tables: Iterable[TableT[Any, Any]],
    *,
    replication_factor: int,
    timeout_s: float,
) -> None:
    """Create the missing changelogs of ``tables``; return once the metadata lists them all."""
    wanted = changelog_topics(tables, replication_factor=replication_factor)
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=int(timeout_s * 1000))
    partitions = {topic.name: topic.num_partitions for topic in wanted}

    async def create() -> None:
        await create_missing_topics(
            admin, wanted, timeout_ms=int(timeout_s * 1000), what="changelog topic"
        )
        await _await_metadata(admin, partitions, timeout_s=timeout_s)

    with kafka_errors("create the tables' changelog topics", kafka):
        await admin.start()
        try:
            # A broker that just died stays in the metadata for seconds: try another.
            await retrying(create, timeout_s=timeout_s)
        finally:
            await admin.close()


async def _await_metadata(
    admin: AIOKafkaAdminClient, partitions: dict[str, int], *, timeout_s: float
) -> None:
    """Wait until the broker describes every topic of ``partitions`` with all its partitions.

    An existing changelog with another partition count is Faust's to refuse, with its own
    clear error (its tables must match the raw topic partition for partition).
    """

    async def described() -> bool:
        if not set(partitions) <= set(await admin.list_topics()):
            return False
        return all(
            topic["error_code"] == _NO_ERROR and topic["partitions"]
            for topic in await admin.describe_topics(sorted(partitions))
        )

    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if await described():
                    return
                await asyncio.sleep(_METADATA_POLL_S)
    except TimeoutError:
        raise TopicSetupError(
            f"the changelog topics {sorted(partitions)} were created but the metadata never "
            f"showed them within {timeout_s:g} s",
            hint="check the broker's log; start the worker again",
        ) from None
