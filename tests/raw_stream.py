"""Read the raw Clever stream back in tests, and fold it into the pairs Clever holds.

The fold is deliberately naive (the real one is the workers' job): the last completed
snapshot of a district, then every event after it, each contact replaced whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from schemas.codec import default_codec
from schemas.records import RawCleverRecord
from schemas.values import RawRecordKind
from tests.kafka_reading import read_partition

Pair = tuple[str, str, str | None, str | None]


async def partition_count(bootstrap_servers: str, topic: str) -> int:
    """How many partitions ``topic`` (which must exist) has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(description["partitions"])


async def read_raw(bootstrap_servers: str, topic: str) -> list[tuple[int, str, RawCleverRecord]]:
    """Every committed raw record as (partition, key, record), in order within a partition."""
    codec = default_codec()
    found: list[tuple[int, str, RawCleverRecord]] = []
    for partition in range(await partition_count(bootstrap_servers, topic)):
        for message in await read_partition(bootstrap_servers, topic, partition=partition):
            record = codec.decode(message.value, RawCleverRecord)
            found.append((partition, message.key.decode(), record))
    return found


def of_district(
    records: Iterable[tuple[int, str, RawCleverRecord]], district_id: str
) -> list[RawCleverRecord]:
    """One district's records in stream order (they share one partition)."""
    return [record for _, _, record in records if record.district_id == district_id]


def relationships(user: dict[str, Any]) -> list[Pair]:
    """A v3 contact user's pairs as Clever states them."""
    contact = (user.get("roles") or {}).get("contact")
    if not isinstance(contact, dict):
        return []
    return [
        (user["id"], entry["student"], entry.get("relationship"), entry.get("type"))
        for entry in contact.get("student_relationships") or []
    ]


def fold_pairs(records: Iterable[RawCleverRecord]) -> frozenset[Pair]:
    """The pairs the raw stream of one v3 district leads to."""
    contacts: dict[str, list[Pair]] = {}
    snapshot: dict[str, list[Pair]] = {}
    for record in records:
        if record.kind == RawRecordKind.SYNC_STARTED:
            snapshot = {}
        elif record.kind == RawRecordKind.SNAPSHOT:
            user = json.loads(record.clever_json or "{}")
            if pairs := relationships(user):
                snapshot[user["id"]] = pairs
        elif record.kind == RawRecordKind.SYNC_COMPLETED:
            contacts = snapshot
        elif record.kind == RawRecordKind.EVENT:
            event = json.loads(record.clever_json or "{}")
            user = event["data"]["object"]
            if event["type"] == "users.deleted":
                contacts.pop(user["id"], None)
            elif (user.get("roles") or {}).get("contact") is not None:
                contacts[user["id"]] = relationships(user)
    return frozenset(pair for pairs in contacts.values() for pair in pairs)
