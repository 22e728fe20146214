"""Kafka's default partitioner: murmur2 of the key."""

from collections.abc import Sequence

class DefaultPartitioner:
    # A classmethod __call__ in aiokafka: the class itself, or an instance, partitions.
    @classmethod
    def __call__(
        cls, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int: ...

def murmur2(data: bytes) -> int: ...
