"""The pipeline's topics read as an outside consumer reads them, sharing no code with it.

confluent-kafka (librdkafka, not aiokafka) reads with ``read_committed``, and fastavro decodes
each value with the released ``.avsc`` file its single-object fingerprint names: what
``docs/topics.md`` tells a downstream engineer to do. A check built on this reader finds what
the pipeline's own reader and codec would agree with it on.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

#: The released schemas: self-contained files, one per version of each record.
RELEASED = Path(__file__).resolve().parents[1] / "schemas" / "history"
_MAGIC = b"\xc3\x01"


@dataclass(frozen=True, slots=True)
class Message:
    """One record of a topic: where it sits, its key, and its value decoded (None: a
    tombstone) with the name of the schema that wrote it."""

    partition: int
    offset: int
    key: bytes | None
    schema: str | None
    value: dict[str, Any] | None


class ReleasedSchemas:
    """Every released version of the named records, found by their fingerprints."""

    def __init__(self, names: Iterable[str]) -> None:
        self._by_header: dict[bytes, tuple[str, Any]] = {}
        for name in names:
            for path in sorted((RELEASED / name).glob("*.avsc")):
                schema = load_schema(str(path))
                found = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
                self._by_header[_MAGIC + bytes.fromhex(found)] = (name, schema)

    def decode(self, value: bytes) -> tuple[str, dict[str, Any]]:
        """The schema's name and the datum of a single-object encoded ``value``."""
        found = self._by_header.get(value[:10])
        if found is None:
            raise ValueError(f"no released schema has the header {value[:10].hex()}")
        name, schema = found
        datum = fastavro.schemaless_reader(io.BytesIO(value[10:]), schema, None)
        if not isinstance(datum, dict):
            raise TypeError(f"a {name} that is not a record")
        return name, datum


def read_topic(
    bootstrap_servers: str,
    topic: str,
    schemas: ReleasedSchemas | None,
    *,
    timeout_s: float = 60,
    security: Mapping[str, str] | None = None,
) -> list[Message]:
    """Every committed record of ``topic`` now, partition by partition in offset order.

    ``schemas`` None leaves each value undecoded, as ``{"bytes": value}``.
    ``security`` holds librdkafka's own settings (``security.protocol``, ``sasl.username``,
    ``ssl.ca.location``...) for a secured cluster.
    """
    consumer = Consumer(
        {
            **(security or {}),
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"outside-reader-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if metadata.error is not None:
            raise RuntimeError(f"topic {topic}: {metadata.error}")
        partitions = sorted(metadata.partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending, found = set(partitions), []
        while pending:
            message = consumer.poll(timeout_s)
            if message is None:
                raise TimeoutError(f"{topic}: nothing read in {timeout_s} s")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001 - confluent-kafka's public name of librdkafka's code
                    pending.discard(message.partition() or 0)
                    continue
                raise RuntimeError(f"{topic}: {error}")
            raw = message.value()
            name, datum = _decoded(schemas, raw)
            partition, offset = message.partition() or 0, message.offset() or 0
            found.append(Message(partition, offset, message.key(), name, datum))
        return sorted(found, key=lambda m: (m.partition, m.offset))
    finally:
        consumer.close()


def committed_offsets(
    bootstrap_servers: str,
    group_id: str,
    topic: str,
    partitions: Iterable[int],
    *,
    security: Mapping[str, str] | None = None,
) -> dict[int, int]:
    """The offsets ``group_id`` has committed on ``topic`` (-1001 where none), without
    joining the group."""
    consumer = Consumer(
        {
            **(security or {}),
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
        }
    )
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=30)
        return {tp.partition: tp.offset for tp in committed}
    finally:
        consumer.close()


def topic_exists(
    bootstrap_servers: str, topic: str, *, security: Mapping[str, str] | None = None
) -> bool:
    """Whether the cluster has ``topic``."""
    admin = AdminClient({**(security or {}), "bootstrap.servers": bootstrap_servers})
    return topic in admin.list_topics(timeout=30).topics


def _decoded(
    schemas: ReleasedSchemas | None, raw: bytes | None
) -> tuple[str | None, dict[str, Any] | None]:
    if raw is None:
        return None, None
    if schemas is None:
        return None, {"bytes": raw}
    return schemas.decode(raw)
