"""The rebalance listener interface."""

import abc
from collections.abc import Awaitable, Set

from aiokafka.structs import TopicPartition

class ConsumerRebalanceListener(abc.ABC):
    # aiokafka awaits what these return when it is a coroutine. Revoked partitions come as a
    # frozenset (or an empty set), assigned ones as a set.
    @abc.abstractmethod
    def on_partitions_revoked(self, revoked: Set[TopicPartition]) -> Awaitable[None] | None: ...
    @abc.abstractmethod
    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> Awaitable[None] | None: ...
