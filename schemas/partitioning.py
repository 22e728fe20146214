"""Kafka's default partitioner (murmur2 of the key), in native code.

The engine and the poller send with an explicit partition, the one Kafka's default
partitioner (Java's and aiokafka's alike) gives the key, so that the records of a key land
where any Kafka client would put them: downstream consumers and compaction rely on that.
The hash is ``murmurhash2``'s (Kafka's murmur2 is MurmurHash2 with Kafka's seed), native
code, as nearly every pair key on the state topic is new and Python's is thirty times slower.
The tests hold it to aiokafka's Python murmur2 for any bytes and to a value from Kafka's own
tests.
"""

from __future__ import annotations

from typing import Final

from murmurhash2 import murmurhash2

#: The seed of Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``).
_SEED: Final = 0x9747B28C


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of ``data``, as an unsigned 32-bit integer."""
    return murmurhash2(data, _SEED)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (murmurhash2(key, _SEED) & 0x7FFFFFFF) % partitions
