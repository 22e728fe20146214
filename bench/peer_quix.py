"""The Quix Streams peer: the worker's job as a Quix Streams application, exactly once.

What a Python user would pick instead of Faust today: a ``StreamingDataFrame`` over the raw
topic (bytes in), one stateful ``apply`` that runs the worker's own ``RecordHandler`` (the
privilege logic and the output writers, ``streams.processor``) over the worker's tables
kept in Quix's RocksDB state (``bench.quix_state``), its outputs expanded into rows and
produced to the changes, state and dead-letter topics, each to its own. Quix commits
the outputs, the state's changelog and the consumed offsets in one Kafka transaction per
checkpoint (``processing_guarantee="exactly-once"``), every ``--commit-interval`` seconds.

So the comparison with the worker is of the frameworks: the same records, the same logic,
the same bytes out. Run as ``python -m bench.peer_quix`` by the Python of ``.venv-quix``
(Quix Streams caps confluent-kafka below the version the tests pin, so it has a virtualenv
of its own: ``make bench-setup``); SIGTERM stops it, as Quix handles it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from quixstreams import Application, State, message_context
from quixstreams.models import Topic
from quixstreams.models.serializers import SerializationContext, Serializer

from bench.pipeline_raw import output_topics
from bench.quix_state import QuixBacking, RecordState
from schemas.codec import default_codec
from streams.processor.handler import Output, RecordHandler
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction


class OutputValue(Serializer):
    """An ``Output``'s value as it is (already encoded by the handler); None: a tombstone."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes | None:
        del ctx
        # None is a tombstone on the compacted state topic: confluent-kafka sends it as such.
        output: Output = value
        return output.value


class _Internals:
    """The private parts of Quix Streams 3.28 that ``QuixBacking.keys`` reads (see
    ``bench.quix_state``); the version is pinned in pyproject.toml's ``quix`` extra."""

    def prefix(self, state: RecordState) -> bytes:
        return state._prefix  # type: ignore[attr-defined,no-any-return]  # noqa: SLF001

    def stored_keys(self, state: RecordState, lower: bytes, upper: bytes) -> Iterator[bytes]:
        partition = state._transaction._partition  # type: ignore[attr-defined]  # noqa: SLF001
        for key, _ in partition.iter_items(lower_bound=lower, upper_bound=upper):
            yield key

    def updated(self, state: RecordState) -> Mapping[bytes, bytes]:
        cache = state._transaction._update_cache  # type: ignore[attr-defined]  # noqa: SLF001
        found: Mapping[bytes, bytes] = cache.get_updates().get(self.prefix(state), {})
        return found

    def deleted(self, state: RecordState) -> set[bytes]:
        cache = state._transaction._update_cache  # type: ignore[attr-defined]  # noqa: SLF001
        found: set[bytes] = cache.get_deletes()
        return found


def build_app(
    bootstrap_servers: str,
    *,
    topic: str,
    output_prefix: str,
    group_id: str,
    commit_interval_s: float,
    state_dir: Path,
) -> Application:
    """The Quix application, ready to ``run()``."""
    topics = output_topics(topic, output_prefix)
    codec = default_codec()
    handler = RecordHandler(topics=topics, codec=codec)
    table_format = TableFormat(codec)
    backing = QuixBacking(_Internals())
    app = Application(
        bootstrap_servers,
        consumer_group=group_id,
        auto_offset_reset="earliest",
        commit_interval=commit_interval_s,
        state_dir=state_dir,
        processing_guarantee="exactly-once",
        loglevel="WARNING",
    )
    raw = app.topic(topics.raw, value_deserializer="bytes", key_deserializer="bytes")
    outputs: dict[str, Topic] = {
        name: app.topic(name, value_serializer=OutputValue(), key_serializer="bytes")
        for name in (topics.changes, topics.state, topics.dead_letters)
    }

    def process(
        value: bytes, key: bytes, timestamp: int, headers: Any, state: State
    ) -> list[Output]:
        del timestamp, headers
        context = message_context()
        backing.state = state
        # A transaction per record: its writes go to Quix's state as the record ends, so
        # nothing of ours outlives the checkpoint Quix may abort.
        store = PartitionTransaction(backing, table_format=table_format, keep=0)
        found = handler.handle(
            partition=context.partition, offset=context.offset, key=key, value=value, store=store
        )
        store.prepare()
        store.commit(0)
        return found

    def destination(value: Any, key: Any, timestamp: int, headers: Any) -> Topic:
        del key, timestamp, headers
        return outputs[value.topic]

    sdf = app.dataframe(raw)
    sdf = sdf.apply(process, stateful=True, metadata=True, expand=True)
    sdf.to_topic(destination, key=lambda value: value.key)
    return app


def main(
    bootstrap_servers: Annotated[str, typer.Option()],
    topic: Annotated[str, typer.Option(help="The raw topic to read.")],
    output_prefix: Annotated[
        str, typer.Option(help="Prefix of the pipeline topics written (changes, state, ...).")
    ],
    group_id: Annotated[str, typer.Option(help="The Quix application's consumer group.")],
    commit_interval: Annotated[float, typer.Option(min=0.001, help="Seconds per checkpoint.")],
    state_dir: Annotated[Path, typer.Option(help="Folder of Quix's RocksDB state.")],
) -> None:
    """Run the Quix Streams peer until SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    build_app(
        bootstrap_servers,
        topic=topic,
        output_prefix=output_prefix,
        group_id=group_id,
        commit_interval_s=commit_interval,
        state_dir=state_dir,
    ).run()


if __name__ == "__main__":
    typer.run(main)
