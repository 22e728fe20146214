"""``clever-stream resync``: ask the pollers to resync districts from Clever's Data API.

A ``ResyncRequest`` per district goes to the deployment's requests topic. Every poller
follows that topic: the district's poller takes the request up at its next page boundary, or
when it next starts, and records the request in the district's cursor in the transaction that
starts the resync, so the request is taken up once (``connectors/requests.py``). Until then
``clever-stream status`` shows it pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from aiokafka import AIOKafkaProducer

from connectors.cursors import read_all_cursors
from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from foundation.kafka_errors import kafka_errors
from foundation.settings import KafkaSettings
from schemas.codec import Codec
from schemas.keys import district_key
from schemas.provision import ensure_pipeline_topics
from schemas.records import ResyncRequest
from schemas.topics import POLLER_CURSORS, POLLER_REQUESTS


async def request_resyncs(
    kafka: KafkaConnection,
    settings: KafkaSettings,
    *,
    districts: Sequence[str],
    every: bool,
    reason: str,
    codec: Codec,
    now: datetime,
    timeout_s: float,
) -> list[ResyncRequest]:
    """Write a resync request for each of ``districts`` (or every district with a cursor,
    with ``every``); the requests written."""
    prefix = settings.topic_prefix
    with kafka_errors("ask for a resync", kafka):
        known = await read_all_cursors(kafka, topic=POLLER_CURSORS.name(prefix), codec=codec)
        chosen = sorted(known) if every else list(dict.fromkeys(districts))
        unknown = [district for district in chosen if district not in known]
        if unknown:
            raise ConfigurationError(
                f"no poller of {prefix} has a cursor for {', '.join(unknown)}",
                hint="check the district IDs (clever-stream status lists them); a district "
                "without a cursor has its first sync ahead of it anyway",
            )
        if not chosen:
            raise ConfigurationError(
                f"no poller of {prefix} has a cursor yet: there is nothing to resync",
                hint="check CLEVER_STREAM_TOPIC_PREFIX (clever-stream status)",
            )
        await ensure_pipeline_topics(kafka, settings, timeout_s=timeout_s)
        requests = [
            ResyncRequest(
                district_id=district,
                request_id=uuid.uuid4().hex,
                reason=reason,
                requested_at=now,
            )
            for district in chosen
        ]
        producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
        try:
            await producer.start()
            for request in requests:
                await producer.send(
                    POLLER_REQUESTS.name(prefix),
                    key=district_key(request.district_id),
                    value=codec.encode(request),
                )
            await producer.flush()
        finally:
            await producer.stop()
    return requests
