"""Records, partitions and offsets."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

class TopicPartition(NamedTuple):
    topic: str
    partition: int

class OffsetAndMetadata(NamedTuple):
    offset: int
    metadata: str

class RecordMetadata(NamedTuple):
    topic: str
    partition: int
    topic_partition: TopicPartition
    offset: int
    timestamp: int | None
    timestamp_type: int
    log_start_offset: int | None

_KT = TypeVar("_KT")
_VT = TypeVar("_VT")

@dataclass
class ConsumerRecord(Generic[_KT, _VT]):
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: _KT | None
    value: _VT | None
    checksum: int | None
    serialized_key_size: int
    serialized_value_size: int
    headers: Sequence[tuple[str, bytes]]
