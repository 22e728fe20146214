"""A producer's transaction state: only the step the native engine takes ahead of aiokafka."""

from aiokafka.structs import TopicPartition

class TransactionManager:
    def is_in_transaction(self) -> bool: ...
    # Queues the partition for the next AddPartitionsToTxn request; a no-op without a
    # transactional ID. Called in a transaction only (aiokafka asserts it).
    def maybe_add_partition_to_txn(self, tp: TopicPartition) -> None: ...
