"""The record collector: a task's outgoing records, batched per destination partition.

Each record is appended to the batch being filled for its topic and partition (computed as
Kafka's default partitioner does), so the producer gets whole batches rather than one
``send`` per record (docs/decisions/0005). The changelog's batches may go before the
commit, the outputs' wait for it (``streams.engines.native.task``), so the collector hands
them out separately.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiokafka.producer.message_accumulator import BatchBuilder

from schemas.partitioning import partition_for
from streams.processor.handler import Output

#: A filled batch: the builder, its topic and partition.
Batch = tuple[BatchBuilder, str, int]


class RecordCollector:
    """Batches a task's records per (topic, partition), in the order they were collected."""

    def __init__(
        self,
        *,
        new_batch: Callable[[], BatchBuilder],
        partition_counts: Mapping[str, int],
        changelog: str,
    ) -> None:
        self._new_batch = new_batch
        self._partition_counts = partition_counts
        self._changelog = changelog
        #: (topic, partition) -> the batch being filled; and batches filled up, in order.
        self._filling: dict[tuple[str, int], BatchBuilder] = {}
        self._full: list[Batch] = []

    def collect(self, outputs: list[Output]) -> None:
        """Append a raw record's outputs, each to its key's partition."""
        counts = self._partition_counts
        for output in outputs:
            partition = partition_for(output.key, counts[output.topic])
            self.append(output.topic, partition, output.key, output.value)

    def append(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        """Append one record to ``topic``/``partition``'s batch."""
        destination = (topic, partition)
        builder = self._filling.get(destination)
        if builder is None:
            builder = self._filling[destination] = self._new_batch()
        if builder.append(timestamp=None, key=key, value=value) is None:
            self._full.append((builder, topic, partition))
            builder = self._filling[destination] = self._new_batch()
            if builder.append(timestamp=None, key=key, value=value) is None:
                raise ValueError(f"a record for {topic} is larger than a whole batch")

    def destinations(self) -> list[tuple[str, int]]:
        """Every (topic, partition) with records collected and not yet handed out."""
        return [*self._filling, *((topic, p) for _, topic, p in self._full)]

    def take_changelog(self) -> list[Batch]:
        """The changelog's batches, handed out (the outputs' stay)."""
        changelog = self._changelog
        taken = [batch for batch in self._all() if batch[1] == changelog]
        self._full = [batch for batch in self._full if batch[1] != changelog]
        self._filling = {d: b for d, b in self._filling.items() if d[0] != changelog}
        return taken

    def take_all(self) -> list[Batch]:
        """Every batch, handed out, in order."""
        taken = self._all()
        self._full, self._filling = [], {}
        return taken

    def clear(self) -> None:
        """Drop every record collected (the transaction is aborted)."""
        self._full, self._filling = [], {}

    def _all(self) -> list[Batch]:
        return self._full + [(b, topic, p) for (topic, p), b in self._filling.items()]
