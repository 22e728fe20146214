"""``clever-stream partitions grow``: take a deployment's raw topic to more partitions, in place.

Kafka adds partitions to a topic without moving a record, but a key's partition is its hash
modulo the count: most districts land on another partition afterwards. Their new records would
reach a task that holds none of their state, perhaps before their older records were read.
So the growth happens while nothing moves (docs/decisions/0022-growing-partitions.md):

1. the worker group has no live member: the workers are stopped;
2. every poller of the deployment is fenced (its shards' transactional IDs are taken over),
   so a poller still running writes nothing more to the raw topic;
3. the group has committed every raw record: the workers drained the topic before they
   stopped;
4. the raw topic and the group's changelogs grow to the new count;
5. each district's table entries move, in one transaction, to the changelog partition its
   district now hashes to: written there, a tombstone where they were.

The outputs (changes, state) keep their partitions, which never depended on the raw topic's:
downstream consumers see a pause and nothing else. Every step looks at what is there, so a
run that failed part-way can be run again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions

from connectors.publisher import shard_transactional_id
from foundation.connection import KafkaConnection
from foundation.exceptions import CleverStreamError, ConfigurationError
from foundation.kafka_errors import kafka_errors, retrying
from foundation.reading import group_offsets, partition_counts, read_committed, read_latest
from schemas.keys import district_key
from schemas.partitioning import partition_for
from streams.engines.changelogs import ChangelogTopic, changelog_topics

#: Pollers fenced at once: each is a producer's start and one InitProducerId.
_FENCING_AT_ONCE = 16
_METADATA_POLL_S = 0.1


class WorkersRunningError(CleverStreamError):
    """The worker group has live members: its state cannot move under them."""


class NotDrainedError(CleverStreamError):
    """The worker group has not committed every raw record: some would be read out of order."""


@dataclass(frozen=True, kw_only=True)
class StateMove:
    """One table entry whose district hashes to another partition at the new count."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    district_id: str
    source: int
    target: int


@dataclass(frozen=True, kw_only=True)
class GrowthPlan:
    """What growing to ``target`` partitions does to one deployment."""

    raw_topic: str
    group_id: str
    target: int
    #: The partitions of the raw topic and of each changelog the group has, now.
    partitions: dict[str, int]
    #: The districts the pollers have a cursor for.
    districts: frozenset[str]
    moves: list[StateMove]
    #: Changelog records whose key names no district: left where they are.
    unknown_keys: int = 0
    fenced: int = field(default=0)

    @property
    def growing(self) -> dict[str, int]:
        """The topics below the target, with their partitions now."""
        return {topic: count for topic, count in self.partitions.items() if count < self.target}

    @property
    def moving(self) -> dict[str, tuple[int, int]]:
        """Each district whose state moves: (its partition now, its partition after)."""
        return {move.district_id: (move.source, move.target) for move in self.moves}

    @property
    def done(self) -> bool:
        """Whether the deployment has the target already: nothing to grow or move."""
        return not self.growing and not self.moves


def partition_of(district_id: str, partitions: int) -> int:
    """The raw partition of ``district_id`` among ``partitions``: Kafka's default partitioner
    on its key, as the poller's producer computes it."""
    return partition_for(district_key(district_id), partitions)


async def grow_partitions(
    kafka: KafkaConnection,
    *,
    raw_topic: str,
    cursors_topic: str,
    group_id: str,
    poller_id_prefix: str,
    target: int,
    dry_run: bool,
    timeout_s: float,
) -> GrowthPlan:
    """Grow ``raw_topic`` and ``group_id``'s changelogs to ``target`` partitions and move the
    state that must follow; with ``dry_run``, check and plan only. The plan carried out."""
    changelogs = changelog_topics(group_id)
    with kafka_errors("grow the raw topic's partitions", kafka):
        counts = await partition_counts(
            kafka, [raw_topic, *(changelog.name for changelog in changelogs)]
        )
        _check_target(raw_topic, counts, target)
        await _refuse_live_workers(kafka, group_id)
        districts = frozenset(await _polled_districts(kafka, cursors_topic))
        # Checked before the fencing, which stops any poller still running: a refusal then
        # changes nothing; and after it, when no poller can add a record any more.
        await _refuse_undrained(kafka, raw_topic, group_id, counts[raw_topic])
        fenced = 0
        if not dry_run:
            shards = (await partition_counts(kafka, [cursors_topic])).get(cursors_topic, 0)
            fenced = await _fence_pollers(kafka, poller_id_prefix, shards)
            await _refuse_undrained(kafka, raw_topic, group_id, counts[raw_topic])
        present = [changelog for changelog in changelogs if changelog.name in counts]
        moves, unknown = await _state_moves(kafka, present, counts, target)
        plan = GrowthPlan(
            raw_topic=raw_topic,
            group_id=group_id,
            target=target,
            partitions={topic: counts[topic] for topic in sorted(counts)},
            districts=districts,
            moves=moves,
            unknown_keys=unknown,
            fenced=fenced,
        )
        if dry_run or plan.done:
            return plan
        await _grow_topics(kafka, plan.growing, target, timeout_s=timeout_s)
        await _move_state(kafka, moves, transactional_id=f"{group_id}-partitions-grow")
    return plan


def _check_target(raw_topic: str, counts: dict[str, int], target: int) -> None:
    if raw_topic not in counts:
        raise ConfigurationError(
            f"the cluster has no topic {raw_topic}: nothing to grow",
            hint="check CLEVER_STREAM_TOPIC_PREFIX (clever-stream topics describe)",
        )
    largest = max(counts.values())
    if target < largest:
        above = sorted(topic for topic, count in counts.items() if count > target)
        raise ConfigurationError(
            f"{', '.join(above)} has {largest} partitions already, and Kafka cannot take "
            "partitions away",
            hint=f"pass --to {largest} or more",
        )


async def _refuse_live_workers(kafka: KafkaConnection, group_id: str) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        members = 0
        for response in await retrying(lambda: admin.describe_consumer_groups([group_id])):
            for group in response.groups:
                # (error, group, state, protocol type, protocol, members, ...), every version.
                found = group[5]
                members += len(found) if isinstance(found, list) else 0
    finally:
        await admin.close()
    if members:
        raise WorkersRunningError(
            f"the worker group {group_id} has {members} live member(s): its state cannot move "
            "while they run",
            hint="stop the pollers, let the workers catch up (clever-stream status shows lag "
            "0), stop the workers, then run this again",
        )


async def _polled_districts(kafka: KafkaConnection, cursors_topic: str) -> set[str]:
    """The districts with a cursor (its key): the ones a poller has published for."""
    latest = await read_latest(kafka, cursors_topic)
    return {key.decode("utf-8") for key in latest}


async def _fence_pollers(kafka: KafkaConnection, prefix: str, shards: int) -> int:
    """Take over each shard's poller transactional ID: a poller still running fails its next
    commit and stops polling the shard's districts, and its open transaction is aborted."""
    limit = asyncio.Semaphore(_FENCING_AT_ONCE)

    async def fence(shard: int) -> None:
        async with limit:
            producer = AIOKafkaProducer(
                **kafka.client_options(),
                transactional_id=shard_transactional_id(prefix, shard),
                enable_idempotence=True,
                acks="all",
            )
            try:
                await producer.start()
                # Beginning waits for InitProducerId: the call that fences.
                await producer.begin_transaction()
                await producer.abort_transaction()
            finally:
                await producer.stop()

    await asyncio.gather(*(fence(shard) for shard in range(shards)))
    return shards


async def _refuse_undrained(
    kafka: KafkaConnection, raw_topic: str, group_id: str, partitions: int
) -> None:
    """Refuse unless ``group_id`` has committed every committed record of ``raw_topic``.

    Exact, not an offset comparison: the records after the group's offset are read, so a
    transaction marker at a partition's end does not count as a record left.
    """
    committed = await group_offsets(kafka, group_id)
    tps = [TopicPartition(raw_topic, partition) for partition in range(partitions)]
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            start = committed.get(tp, 0)
            consumer.seek(tp, start)
            while await consumer.position(tp) < ends[tp]:
                left = (await consumer.getmany(tp, timeout_ms=500)).get(tp, [])
                if left:
                    raise NotDrainedError(
                        f"the worker group {group_id} has not processed {raw_topic}[{tp.partition}]"
                        f" from offset {left[0].offset} on: those records would be read out of "
                        "order after the growth",
                        hint="start the workers (not the pollers) until clever-stream status "
                        "shows lag 0, stop them, then run this again",
                    )
    finally:
        await consumer.stop()


async def _state_moves(
    kafka: KafkaConnection,
    changelogs: list[ChangelogTopic],
    counts: dict[str, int],
    target: int,
) -> tuple[list[StateMove], int]:
    """Every live table entry sitting on another partition than its district's at
    ``target`` partitions; and how many entries name no district."""
    moves: list[StateMove] = []
    unknown = 0
    for changelog in changelogs:
        latest: dict[tuple[int, bytes], tuple[bytes | None, tuple[tuple[str, bytes], ...]]] = {}
        records = await read_committed(kafka, changelog.name, counts[changelog.name])
        for record in records:
            if record.key is not None:
                latest[record.partition, record.key] = (record.value, tuple(record.headers))
        for (partition, key), (value, headers) in latest.items():
            if value is None:
                continue
            try:
                district_id = changelog.district_of(key)
            except ValueError:
                unknown += 1
                continue
            wanted = partition_of(district_id, target)
            if wanted != partition:
                moves.append(
                    StateMove(
                        topic=changelog.name,
                        key=key,
                        value=value,
                        headers=headers,
                        district_id=district_id,
                        source=partition,
                        target=wanted,
                    )
                )
    return moves, unknown


async def _grow_topics(
    kafka: KafkaConnection, growing: dict[str, int], target: int, *, timeout_s: float
) -> None:
    """Add partitions to ``growing`` up to ``target``; return once the metadata shows them."""
    if not growing:
        return
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_partitions({topic: NewPartitions(target) for topic in growing})
        async with asyncio.timeout(timeout_s):
            while True:
                counts = await partition_counts(kafka, list(growing))
                if all(counts.get(topic) == target for topic in growing):
                    return
                await asyncio.sleep(_METADATA_POLL_S)
    except TimeoutError:
        raise CleverStreamError(
            f"Kafka added the partitions but its metadata did not show them in {timeout_s:g} s",
            hint="run this again: it carries on from where it stopped",
        ) from None
    finally:
        await admin.close()


async def _move_state(
    kafka: KafkaConnection, moves: list[StateMove], *, transactional_id: str
) -> None:
    """Write each moved entry to its new partition and a tombstone where it was, in one
    transaction: a worker restoring either partition finds all of the move or none of it."""
    if not moves:
        return
    producer = AIOKafkaProducer(
        **kafka.client_options(),
        transactional_id=transactional_id,
        enable_idempotence=True,
        acks="all",
    )
    try:
        await producer.start()
        async with producer.transaction():
            for move in moves:
                headers = list(move.headers)
                await producer.send(
                    move.topic, key=move.key, value=move.value, partition=move.target,
                    headers=headers,
                )  # fmt: skip
                await producer.send(
                    move.topic, key=move.key, value=None, partition=move.source, headers=headers
                )
    finally:
        await producer.stop()


def growth_lines(plan: GrowthPlan, *, dry_run: bool, seconds: float) -> list[str]:
    """What a growth did, or would do with ``dry_run``, in lines for a terminal."""
    verb = "would grow" if dry_run else "grew"
    if plan.done:
        return [
            f"{plan.raw_topic} and the changelogs of {plan.group_id} have {plan.target} "
            "partitions and every district's state sits in its partition: nothing to do."
        ]
    lines = [
        f"{verb.capitalize()} to {plan.target} partitions:"
        if plan.growing
        else f"The topics have {plan.target} partitions already; state left to move:"
    ]
    lines += [f"  {topic}: {count} -> {plan.target}" for topic, count in plan.growing.items()]
    if not dry_run:
        lines.append(f"Fenced the pollers of {plan.fenced} shards.")
    moving = plan.moving
    lines.append(
        f"{'Would move' if dry_run else 'Moved'} the state of {len(moving)} of "
        f"{len(plan.districts)} districts ({len(plan.moves)} table entries)"
        + (":" if moving else ".")
    )
    lines += [
        f"  {district}: partition {source} -> {target}"
        for district, (source, target) in sorted(moving.items())
    ]
    if plan.unknown_keys:
        lines.append(f"Left {plan.unknown_keys} changelog entries that name no district.")
    lines.append(
        "Dry run: nothing changed."
        if dry_run
        else f"Done in {seconds:.1f} s: start the pollers and the workers again."
    )
    return lines
