"""The producer, with the keyword arguments this project passes."""

import asyncio
import ssl
from types import TracebackType
from typing import Literal, Self, TypeVar

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.producer.transaction_manager import TransactionManager
from aiokafka.structs import OffsetAndMetadata, RecordMetadata, TopicPartition

# aiokafka checks for a dict whose values are an offset, (offset, metadata) or both as one.
_Offset = TypeVar("_Offset", bound=int | tuple[int, str] | OffsetAndMetadata)

class AIOKafkaProducer:
    # Private: streams/engines/native/producer.py adds output partitions to the open
    # transaction ahead of their batches, which no public call does. None unless idempotent.
    _txn_manager: TransactionManager | None
    # No key/value serializer is declared: keys and values are bytes.
    def __init__(
        self,
        *,
        bootstrap_servers: str | list[str] = "localhost",
        client_id: str | None = None,
        request_timeout_ms: int = 40000,
        acks: Literal[0, 1, -1, "all"] = ...,
        max_batch_size: int = 16384,
        linger_ms: int = 0,
        retry_backoff_ms: int = 100,
        enable_idempotence: bool = False,
        transactional_id: str | None = None,
        transaction_timeout_ms: int = 60000,
        security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT",
        ssl_context: ssl.SSLContext | None = None,
        sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN",
        sasl_plain_username: str | None = None,
        sasl_plain_password: str | None = None,
    ) -> None: ...
    async def start(self) -> None: ...
    async def flush(self) -> None: ...
    async def stop(self) -> None: ...
    async def partitions_for(self, topic: str) -> set[int]: ...
    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[RecordMetadata]: ...
    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> RecordMetadata: ...
    def create_batch(self) -> BatchBuilder: ...
    async def send_batch(
        self, batch: BatchBuilder, topic: str, *, partition: int
    ) -> asyncio.Future[RecordMetadata]: ...
    async def begin_transaction(self) -> None: ...
    async def commit_transaction(self) -> None: ...
    async def abort_transaction(self) -> None: ...
    def transaction(self) -> TransactionContext: ...
    async def send_offsets_to_transaction(
        self, offsets: dict[TopicPartition, _Offset], group_id: str
    ) -> None: ...

class TransactionContext:
    # Begins a transaction on entry; commits it on a clean exit, aborts it on an error.
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
