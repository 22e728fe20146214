"""The engine's partitioner gives every key the partition any Kafka client would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from schemas.partitioning import murmur2, partition_for


@given(st.binary(max_size=300))
def test_murmur2_equals_kafkas(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=120), st.integers(min_value=1, max_value=64))
def test_partition_for_equals_the_default_partitioner(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_a_known_key_lands_where_java_puts_it() -> None:
    # Kafka's Utils.murmur2 of "21" is -973932308 as a Java int (from Kafka's UtilsTest).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
