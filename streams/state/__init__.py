"""The worker's tables: their keys and values, the committed backing, a partition's transaction.

Both engines keep their state here: the processor writes through a ``PartitionTransaction``,
which the engine prepares for the changelog and commits to a ``TableBacking`` once Kafka
has committed.
"""
