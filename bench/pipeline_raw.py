"""The pipeline benchmark's baseline: a bare exactly-once consume-transform-produce loop.

What Kafka itself costs for the worker's job, without Faust and without the privilege logic:
a ``read_committed`` consumer of the raw topic, each record decoded with the codec and one
``PrivilegeChange`` per record encoded and sent, keyed by district, in a transaction that
also commits the consumed offsets (``send_offsets_to_transaction``) once per commit
interval, as the worker commits. One transactional producer for every partition: the
cheapest exactly-once design (the worker has one per source partition).

With ``--writer engine`` the change is written by the worker's own ``OutputWriter``
(``streams/writers/output_writer.py``, the codec's bytes at a third of the cost) instead of
the codec: the stricter baseline, a loop that writes its output as cheaply as the worker.

Run as ``python -m bench.pipeline_raw`` in a process of its own, like the worker, and
measured the same way (from its group's committed offsets); SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from schemas.codec import Codec, default_codec
from schemas.records import Cause, Privilege, PrivilegeChange, RawCleverRecord
from schemas.values import CauseKind, ChangeKind, ContactType, Relationship
from streams.writers.output_writer import OutputWriter

#: How the output is written: the codec (the plain way), or the worker's own writer.
WRITERS: tuple[str, ...] = ("codec", "engine")

#: The output every raw record gives: a grant to itself, the same size as a real one.
_PRIVILEGE = Privilege(
    relationship=Relationship.PARENT,
    relationship_raw="Parent",
    contact_type=ContactType.PARENT_GUARDIAN,
    contact_type_raw="Parent/Guardian",
)


def output_record(record: RawCleverRecord, *, offset: int, now: datetime) -> PrivilegeChange:
    """A privilege change made from the raw record's IDs alone: encoding work, no logic."""
    record_id = record.record_id or record.district_id
    return PrivilegeChange(
        change_id=f"{record.event_id or record.sync_id}-{offset}",
        kind=ChangeKind.GRANTED,
        district_id=record.district_id,
        contact_id=record_id,
        student_id=record_id,
        after=_PRIVILEGE,
        cause=Cause(
            kind=CauseKind.CLEVER_EVENT,
            clever_event_id=record.event_id,
            clever_event_type=record.event_type,
        ),
        occurred_at=record.created_at,
        emitted_at=now,
    )


async def consume_transform_produce(
    bootstrap_servers: str,
    *,
    topic: str,
    output_topic: str,
    group_id: str,
    commit_interval_s: float,
    stop: asyncio.Event,
    codec: Codec | None = None,
    writer: str = "codec",
) -> int:
    """Run the loop until ``stop`` is set; the records processed (committed or not)."""
    codec = codec or default_codec()
    if writer not in WRITERS:
        raise ValueError(f"no writer {writer!r}: one of {', '.join(WRITERS)}")
    encode = codec.encode if writer == "codec" else OutputWriter(codec).change
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        transactional_id=f"{group_id}-{uuid.uuid4().hex[:8]}",
        enable_idempotence=True,
        acks="all",
    )
    processed = 0
    await producer.start()
    try:
        await consumer.start()
        try:
            await producer.begin_transaction()
            offsets: dict[TopicPartition, int] = {}
            deadline = time.monotonic() + commit_interval_s
            while not stop.is_set():
                wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
                batches = await consumer.getmany(timeout_ms=min(wait_ms, 100))
                for partition, messages in batches.items():
                    for message in messages:
                        await _transform(message, producer, output_topic, codec, encode)
                    offsets[partition] = messages[-1].offset + 1
                    processed += len(messages)
                if time.monotonic() >= deadline:
                    if offsets:
                        await producer.send_offsets_to_transaction(offsets, group_id)
                        await producer.commit_transaction()
                        await producer.begin_transaction()
                        offsets = {}
                    deadline = time.monotonic() + commit_interval_s
            with contextlib.suppress(Exception):  # stopping: the open transaction is dropped
                await producer.abort_transaction()
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return processed


async def _transform(
    message: ConsumerRecord[bytes, bytes],
    producer: AIOKafkaProducer,
    output_topic: str,
    codec: Codec,
    encode: Callable[[PrivilegeChange], bytes],
) -> None:
    record = codec.decode(message.value or b"", RawCleverRecord)
    change = output_record(record, offset=message.offset, now=datetime.now(UTC))
    await producer.send(output_topic, key=message.key, value=encode(change))


async def _run(
    bootstrap_servers: str,
    topic: str,
    output_topic: str,
    group_id: str,
    commit_interval_s: float,
    writer: str,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await consume_transform_produce(
        bootstrap_servers,
        topic=topic,
        output_topic=output_topic,
        group_id=group_id,
        commit_interval_s=commit_interval_s,
        stop=stop,
        writer=writer,
    )


def main(
    bootstrap_servers: Annotated[str, typer.Option()],
    topic: Annotated[str, typer.Option(help="The raw topic to read.")],
    output_topic: Annotated[str, typer.Option(help="Where the output records go.")],
    group_id: Annotated[str, typer.Option(help="Consumer group whose offsets are committed.")],
    commit_interval: Annotated[float, typer.Option(min=0.001, help="Seconds per transaction.")],
    writer: Annotated[
        str, typer.Option(help="How the output is written: codec, or engine (the worker's).")
    ] = "codec",
) -> None:
    """Consume, transform and produce, exactly once, until SIGTERM."""
    if writer not in WRITERS:
        raise typer.BadParameter(f"one of {', '.join(WRITERS)}", param_hint="--writer")
    asyncio.run(_run(bootstrap_servers, topic, output_topic, group_id, commit_interval, writer))


if __name__ == "__main__":
    typer.run(main)
