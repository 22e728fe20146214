"""The record batch ``AIOKafkaProducer.create_batch`` gives and ``send_batch`` takes."""

from typing import Protocol, type_check_only

@type_check_only
class _AppendedRecord(Protocol):
    # The metadata of a record the batch took (offset, size, timestamp); none of it is read here.
    ...

class BatchBuilder:
    # No key/value serializer is declared on the producer: records are bytes. The timestamp
    # is in epoch milliseconds, an int (the record builder raises TypeError on a float,
    # whatever aiokafka's docstring says); None: now. None is returned when the batch is full.
    def append(
        self, *, timestamp: int | None, key: bytes | None, value: bytes | None
    ) -> _AppendedRecord | None: ...
    def close(self) -> None: ...
    def record_count(self) -> int: ...
