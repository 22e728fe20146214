"""Wire the Faust worker: app, topics, tables, transaction, agent, views (wiring only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import faust

from foundation.connection import KafkaConnection
from schemas.codec import default_codec
from streams.engines.faust.agents import PrivilegeHandler, register_privilege_agent
from streams.engines.faust.app import create_app
from streams.engines.faust.output import TransactionalOutput
from streams.engines.faust.rocksdb_safety import guard_table_files
from streams.engines.faust.sensors import MetricsSensor, consumer_lag
from streams.engines.faust.tables import FaustBacking, WorkerTables
from streams.engines.faust.topics import WorkerTopics
from streams.engines.faust.views import register_probes, register_views
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.state.reader import TableReader
from streams.state.tables import TableFormat
from streams.state.transaction import PartitionTransaction


@dataclass(frozen=True)
class PrivilegeWorker:
    """A built worker: start ``app`` (in-process) or run it with ``faust.Worker``."""

    app: faust.App
    topics: WorkerTopics
    tables: WorkerTables
    store: TableReader
    handler: PrivilegeHandler
    metrics: WorkerMetrics


def build_worker(
    settings: WorkerSettings,
    *,
    kafka: KafkaConnection,
    raw_partitions: int,
    replication_factor: int,
) -> PrivilegeWorker:
    """Everything the worker runs, registered on a new Faust app on ``kafka``; nothing
    connects yet.

    ``raw_partitions`` is the raw topic's partition count: the tables must have as many,
    partition for partition, for a district's state to live with its records.
    """
    app = create_app(settings, kafka=kafka, replication_factor=replication_factor)
    codec = default_codec()
    names = settings.topics
    topics = WorkerTopics.declare(app, topics=names)
    guard_table_files(app, settings, kafka=kafka, source_topic=names.raw)
    tables = WorkerTables.declare(app, partitions=raw_partitions)
    backing = FaustBacking(tables)
    table_format = TableFormat(codec)
    handler = PrivilegeHandler(
        topics=topics,
        # A transaction per record (keep=0): Faust's tables are the state, and a rebalance
        # may change them between two records.
        transaction=PartitionTransaction(backing, table_format=table_format, keep=0),
        output=TransactionalOutput(app),
        handler=RecordHandler(topics=names, codec=codec, districts=settings.districts),
    )
    register_privilege_agent(app, topics=topics, handler=handler)
    reader = TableReader(backing, table_format=table_format)
    raw_topic = topics.raw.get_topic_name()

    def owned() -> int:
        return sum(1 for tp in app.assignor.assigned_actives() if tp.topic == raw_topic)

    metrics = WorkerMetrics(handler.records, owned=owned, lag=consumer_lag(app, raw_topic))
    app.sensors.add(MetricsSensor(metrics, app))
    register_views(app, tables=tables, store=reader, token=settings.views_bearer_token())
    register_probes(app, metrics=metrics, ready=lambda: is_ready(app))
    return PrivilegeWorker(
        app=app, topics=topics, tables=tables, store=reader, handler=handler, metrics=metrics
    )


def is_ready(app: faust.App) -> bool:
    """Whether the app runs with its assigned partitions recovered."""
    recovery: Any = cast(Any, app.tables).recovery  # TableManager's, not in TableManagerT
    return bool(recovery.completed.is_set() and not recovery.in_recovery)
