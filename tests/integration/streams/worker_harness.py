"""Run the privilege worker in-process, and read its outputs back as a consumer would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from schemas.codec import default_codec
from schemas.keys import parse_pair_key
from schemas.provision import ensure_pipeline_topics
from schemas.records import PrivilegeChange, PrivilegeState
from schemas.topics import PRIVILEGE_CHANGES, PRIVILEGE_STATE
from streams.engines import WorkerEngine, load_engine
from streams.settings import WorkerSettings
from tests.kafka_reading import read_partition
from tests.model.reference import privilege_from
from tests.raw_stream import partition_count
from tests.waiting import eventually

Pair = tuple[str, str, str | None, str | None]


def worker_settings(
    bootstrap_servers: str, prefix: str, app_id: str | None, data_dir: Path, **overrides: Any
) -> WorkerSettings:
    values: dict[str, Any] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "CLEVER_STREAM_TOPIC_PREFIX": prefix,
        "CLEVER_STREAM_TOPIC_PARTITIONS": 3,
        "app_id": app_id,
        "data_dir": data_dir,
        "web_enabled": False,
        "commit_interval_s": 0.2,
    }
    values.update(overrides)
    return WorkerSettings(**values)


@contextlib.asynccontextmanager
async def running_worker(settings: WorkerSettings) -> AsyncIterator[WorkerEngine]:
    """A started worker of ``settings.engine`` (its topics created first, as the CLI does),
    running as deployed (exactly once), stopped on exit."""
    kafka = settings.kafka_connection()
    await ensure_pipeline_topics(kafka, settings, timeout_s=30)
    engine = load_engine(
        settings, kafka=kafka, raw_partitions=settings.topic_partitions, replicas=1
    )
    await engine.start()
    try:
        ready = asyncio.ensure_future(engine.ready.wait())
        stopped = asyncio.ensure_future(engine.wait())
        await asyncio.wait((ready, stopped), timeout=60, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopped.cancel()
        assert engine.ready.is_set(), "the engine never got its partitions"
        yield engine
    finally:
        await engine.stop()


async def read_all(bootstrap_servers: str, topic: str) -> list[Any]:
    """Every committed record of ``topic``, partition by partition."""
    found: list[Any] = []
    for partition in range(await partition_count(bootstrap_servers, topic)):
        found += await read_partition(bootstrap_servers, topic, partition=partition)
    return found


async def privilege_changes(bootstrap_servers: str, prefix: str) -> list[PrivilegeChange]:
    """The committed privilege changes, in order within each partition."""
    codec = default_codec()
    topic = PRIVILEGE_CHANGES.name(prefix)
    return [
        codec.decode(m.value, PrivilegeChange) for m in await read_all(bootstrap_servers, topic)
    ]


async def current_state(bootstrap_servers: str, prefix: str) -> frozenset[Pair]:
    """The live pairs a new consumer bootstraps from the compacted state topic."""
    codec = default_codec()
    latest: dict[bytes, PrivilegeState | None] = {}
    for message in await read_all(bootstrap_servers, PRIVILEGE_STATE.name(prefix)):
        latest[message.key] = (
            None if message.value is None else codec.decode(message.value, PrivilegeState)
        )
    pairs = set()
    for key, state in latest.items():
        if state is None:
            continue
        _, contact, student = parse_pair_key(key)
        privilege = state.privilege
        pairs.add((contact, student, privilege.relationship_raw, privilege.contact_type_raw))
    return frozenset(pairs)


#: A live pair as the change stream says it: contact, student and the two symbols.
SymbolPair = tuple[str, str, str, str]


def replay(changes: list[PrivilegeChange], district_id: str) -> frozenset[SymbolPair]:
    """The pairs the privilege stream of one district, replayed from the start, leads to.

    With their symbols, not Clever's text: a cosmetic rewrite of the text is no change, so
    the change stream does not carry it (the state topic does, see ``current_state``).
    """
    pairs: dict[tuple[str, str], SymbolPair] = {}
    for change in changes:
        if change.district_id != district_id:
            continue
        key = (change.contact_id, change.student_id)
        if change.after is None:
            pairs.pop(key, None)
        else:
            after = change.after
            pairs[key] = (*key, str(after.relationship), str(after.contact_type))
    return frozenset(pairs.values())


def symbols(pairs: frozenset[Pair]) -> frozenset[SymbolPair]:
    """``pairs`` (Clever's text, as ``ground_truth`` gives them) with the symbols the rules
    of docs/topics.md give that text, read by the reference model, not by the workers' code."""
    found = set()
    for contact, student, relationship, contact_type in pairs:
        privilege = privilege_from(relationship, contact_type)
        found.add((contact, student, privilege.relationship, privilege.contact_type))
    return frozenset(found)


async def converge(
    bootstrap_servers: str, prefix: str, truth: Callable[[], frozenset[Pair]], *, timeout_s: float
) -> None:
    """Wait until the state topic equals ``truth()``; fail with the difference if it never does."""
    last: list[frozenset[Pair]] = [frozenset()]

    async def converged() -> bool:
        last[0] = await current_state(bootstrap_servers, prefix)
        return last[0] == truth()

    try:
        await eventually(converged, timeout_s=timeout_s, what="the state topic to match Clever")
    except AssertionError:
        missing, extra = truth() - last[0], last[0] - truth()
        raise AssertionError(
            f"state topic: {len(missing)} pairs missing, {len(extra)} extra; e.g. missing "
            f"{sorted(missing)[:3]}, extra {sorted(extra)[:3]}"
        ) from None
