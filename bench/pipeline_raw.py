"""The pipeline benchmark's baselines: bare exactly-once consume-transform-produce loops.

What raw aiokafka costs, without the worker's engine: a ``read_committed`` consumer of the
raw topic, each record decoded with the codec and its output sent with the plain
``send`` idiom, in a transaction that also commits the consumed offsets
(``send_offsets_to_transaction``) once per commit interval, as the worker commits. One
transactional producer for every partition: the cheapest exactly-once design (the worker
has one per source partition, which fencing needs). The ``--job`` says what each record
gives:

- ``codec``, (a): one ``PrivilegeChange`` made from the record's IDs, no logic, written by
  the codec: what Kafka and the codec cost, as the baseline was first defined.
- ``writer``, (a'): the same change written by the worker's own ``OutputWriter``
  (``streams/writers/output_writer.py``, the codec's bytes at a third of the cost).
- ``processor``, (a''): the worker's own privilege processor (``RecordHandler``) over a
  store in dicts, its changes, states and dead letters sent to their topics: the worker's
  job on raw aiokafka, without its tables, changelogs, restores or per-partition producers
  (so its state is lost with the process). (b) against it is the cost of the engine.

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
from schemas.topics import DEAD_LETTERS, PRIVILEGE_CHANGES, PRIVILEGE_STATE
from schemas.values import CauseKind, ChangeKind, ContactType, Relationship
from streams.processor.handler import Output, RecordHandler
from streams.processor.store import MemoryStore
from streams.topics import OutputTopics
from streams.writers.output_writer import OutputWriter

#: What the loop makes of each raw record (see the module's docstring).
JOBS: tuple[str, ...] = ("codec", "writer", "processor")

#: The one value (a) and (a') send for a raw record, to the changes topic, under its key.
Echo = Callable[[ConsumerRecord[bytes, bytes]], bytes]

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


def output_topics(topic: str, output_prefix: str) -> OutputTopics:
    """The topics a loop reads (``topic``) and writes (the pipeline's, under ``output_prefix``)."""
    return OutputTopics(
        raw=topic,
        changes=PRIVILEGE_CHANGES.name(output_prefix),
        state=PRIVILEGE_STATE.name(output_prefix),
        dead_letters=DEAD_LETTERS.name(output_prefix),
    )


def echo_of(job: str, codec: Codec) -> Echo | None:
    """The value (a) or (a') writes for each raw record, or None for the processor's job;
    ValueError for a job there is not."""
    if job not in JOBS:
        raise ValueError(f"no job {job!r}: one of {', '.join(JOBS)}")
    if job == "processor":
        return None
    encode = codec.encode if job == "codec" else OutputWriter(codec).change

    def echo(message: ConsumerRecord[bytes, bytes]) -> bytes:
        record = codec.decode(message.value or b"", RawCleverRecord)
        return encode(output_record(record, offset=message.offset, now=datetime.now(UTC)))

    return echo


async def consume_transform_produce(
    bootstrap_servers: str,
    *,
    topics: OutputTopics,
    group_id: str,
    commit_interval_s: float,
    stop: asyncio.Event,
    codec: Codec | None = None,
    job: str = "codec",
) -> int:
    """Read ``topics.raw`` and write what ``job`` makes of it until ``stop`` is set; the
    records processed (committed or not)."""
    codec = codec or default_codec()
    echo = echo_of(job, codec)
    handler, store = RecordHandler(topics=topics, codec=codec), MemoryStore()
    consumer = AIOKafkaConsumer(
        topics.raw,
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
                    if echo is not None:
                        for message in messages:
                            value = echo(message)
                            await producer.send(topics.changes, key=message.key, value=value)
                    else:
                        for message in messages:
                            for output in _processed(message, handler, store):
                                await producer.send(
                                    output.topic, key=output.key, value=output.value
                                )
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


def _processed(
    message: ConsumerRecord[bytes, bytes], handler: RecordHandler, store: MemoryStore
) -> list[Output]:
    """What the worker's processor sends for ``message``, its state kept in ``store``."""
    return handler.handle(
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        store=store,
    )


async def _run(
    bootstrap_servers: str,
    topics: OutputTopics,
    group_id: str,
    commit_interval_s: float,
    job: str,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await consume_transform_produce(
        bootstrap_servers,
        topics=topics,
        group_id=group_id,
        commit_interval_s=commit_interval_s,
        stop=stop,
        job=job,
    )


def main(
    bootstrap_servers: Annotated[str, typer.Option()],
    topic: Annotated[str, typer.Option(help="The raw topic to read.")],
    output_prefix: Annotated[
        str, typer.Option(help="Prefix of the pipeline topics written (changes, state, ...).")
    ],
    group_id: Annotated[str, typer.Option(help="Consumer group whose offsets are committed.")],
    commit_interval: Annotated[float, typer.Option(min=0.001, help="Seconds per transaction.")],
    job: Annotated[
        str,
        typer.Option(
            help="What each record gives: codec or writer (one change made from its IDs, "
            "written by the codec or the worker's writer), or processor (the worker's own "
            "privilege processor, its state in memory)."
        ),
    ] = "codec",
) -> None:
    """Consume, transform and produce, exactly once, until SIGTERM."""
    if job not in JOBS:
        raise typer.BadParameter(f"one of {', '.join(JOBS)}", param_hint="--job")
    topics = output_topics(topic, output_prefix)
    asyncio.run(_run(bootstrap_servers, topics, group_id, commit_interval, job))


if __name__ == "__main__":
    typer.run(main)
