"""The peers' outputs checked against the worker's before any of them is timed.

A rate means nothing if the outputs are wrong, so each contender (the worker on each
engine, the Quix Streams peer) first runs the same small raw topic to its end, writing
under a prefix of its own; then its changes, states and dead letters are read back with
``read_committed`` and compared with the native worker's: the same number of each, and the
same change IDs (deterministic: a district's record count, the pair), each once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.exceptions import BenchError
from bench.pipeline import caught_up
from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import (
    GroupOffsets,
    create_topics,
    publish,
    read_committed,
    topic_records,
)
from bench.pipeline_processes import QUIX_PYTHON, Child, quix_peer, worker
from bench.pipeline_workload import throughput_events
from schemas.codec import default_codec
from schemas.records import PrivilegeChange
from schemas.topics import DEAD_LETTERS, PRIVILEGE_CHANGES, PRIVILEGE_STATE, RAW_EVENTS

logger = logging.getLogger(__name__)

#: Raw records of the check, in districts of about 600.
CHECK_EVENTS = 3_000
#: How long reading an output topic back may take.
_READ_TIMEOUT_S = 120.0


@dataclass(frozen=True, kw_only=True)
class OutputCheck:
    """What one contender wrote for the check's raw records."""

    contender: str
    changes: int
    states: int
    tombstones: int
    dead_letters: int
    #: Change IDs found more than once (none, exactly once).
    duplicates: int
    #: Whether its change IDs are the native worker's.
    same_changes: bool


def compare(found: dict[str, tuple[Counter[str], int, int, int]]) -> list[OutputCheck]:
    """Each contender's counts against the first one's (the native worker's): its change IDs
    (as a multiset), states, tombstones and dead letters."""
    (_, (reference, *_)), *_ = found.items()
    return [
        OutputCheck(
            contender=name,
            changes=sum(ids.values()),
            states=states,
            tombstones=tombstones,
            dead_letters=letters,
            duplicates=sum(1 for count in ids.values() if count > 1),
            same_changes=set(ids) == set(reference),
        )
        for name, (ids, states, tombstones, letters) in found.items()
    ]


def failures(checks: list[OutputCheck]) -> list[str]:
    """What sets a contender's outputs apart from the first one's, contender by contender."""
    reference = checks[0]
    found = []
    for check in checks[1:]:
        differs = [
            what
            for what, mine, theirs in (
                ("changes", check.changes, reference.changes),
                ("states", check.states, reference.states),
                ("tombstones", check.tombstones, reference.tombstones),
                ("dead letters", check.dead_letters, reference.dead_letters),
            )
            if mine != theirs
        ]
        if not check.same_changes:
            differs.append("change IDs")
        if check.duplicates:
            differs.append(f"{check.duplicates} duplicated changes")
        if differs:
            found.append(
                f"{check.contender}: {', '.join(differs)} differ from {reference.contender}"
            )
    return found


async def check_outputs(
    bootstrap_servers: str,
    config: PipelineBenchConfig,
    *,
    tag: str,
    folder: Path,
    offsets: GroupOffsets,
) -> list[OutputCheck]:
    """Run every contender over the same small raw topic to its end; BenchError if any one's
    outputs differ from the native worker's."""
    events = throughput_events(CHECK_EVENTS, districts=max(1, CHECK_EVENTS // 600))
    raw_prefix = f"{tag}-c"
    raw_topic = RAW_EVENTS.name(raw_prefix)
    async with bounded("publishing the check's raw records", config.timeout_s):
        await create_topics(bootstrap_servers, prefix=raw_prefix, partitions=config.partitions)
        await publish(bootstrap_servers, raw_topic, events, page_size=config.page_size)
        records = await topic_records(
            bootstrap_servers, raw_topic, partitions=config.partitions, timeout_s=config.timeout_s
        )
    contenders: dict[str, Callable[[str], AbstractAsyncContextManager[Child]]] = {
        "native": lambda out: worker(
            bootstrap_servers, prefix=out, partitions=config.partitions, app_id=f"{out}-g",
            commit_interval_s=config.commit_interval_s, folder=folder,
            settings={"CLEVER_WORKER_RAW_TOPIC_PREFIX": raw_prefix},
        ),
        "faust": lambda out: worker(
            bootstrap_servers, prefix=out, partitions=config.partitions, app_id=f"{out}-g",
            commit_interval_s=config.commit_interval_s, folder=folder, engine="faust",
            settings={"CLEVER_WORKER_RAW_TOPIC_PREFIX": raw_prefix},
        ),
        "quix": lambda out: quix_peer(
            bootstrap_servers, topic=raw_topic, output_prefix=out, group_id=f"{out}-g",
            commit_interval_s=config.commit_interval_s, folder=folder,
            python=config.quix_python or QUIX_PYTHON,
        ),
    }  # fmt: skip
    chosen = ("native", *(peer for peer in config.peers if peer in contenders))
    found = {}
    for name in chosen:
        out = f"{tag}-c{name}"
        what = f"the output check of {name}"
        async with bounded(what, config.timeout_s):
            await create_topics(bootstrap_servers, prefix=out, partitions=config.partitions)
            async with contenders[name](out) as running:
                await caught_up(offsets, f"{out}-g", raw_topic, records, running)
            found[name] = await read_outputs(bootstrap_servers, out, config.partitions)
        logger.info("%s: %d changes", what, sum(found[name][0].values()))
    checks = compare(found)
    problems = failures(checks)
    if problems:
        raise BenchError(
            "a peer's outputs differ from the native worker's over the same raw records: "
            + "; ".join(problems),
            hint=f"its figures would not be of the same job; the logs are in {folder}",
        )
    return checks


async def read_outputs(
    bootstrap_servers: str, prefix: str, partitions: int
) -> tuple[Counter[str], int, int, int]:
    """The change IDs (with their counts), states, tombstones and dead letters under
    ``prefix``, as a ``read_committed`` consumer sees them."""
    decode = default_codec().decode
    found = [
        await read_values(
            bootstrap_servers, topic.name(prefix), topic.partitions or partitions
        )  # a topic of its own partition count (the dead letters'), or the deployment's
        for topic in (PRIVILEGE_CHANGES, PRIVILEGE_STATE, DEAD_LETTERS)
    ]
    changes, states, letters = found
    ids = Counter(decode(value, PrivilegeChange).change_id for value in changes if value)
    tombstones = sum(1 for value in states if value is None)
    return ids, len(states), tombstones, len(letters)


async def read_values(
    bootstrap_servers: str, topic: str, partitions: int, *, timeout_s: float = _READ_TIMEOUT_S
) -> list[bytes | None]:
    """Every committed value of ``topic``, partition by partition."""
    found = await read_committed(
        bootstrap_servers,
        topic,
        partitions=partitions,
        timeout_s=timeout_s,
        keep=lambda message: message.value,
    )
    return [value for partition in sorted(found) for value in found[partition]]
