"""Wire the privilege worker: app, topics, tables, store, agent, views (wiring only)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from schemas.codec import default_codec
from streams.engines.faust.agents import PrivilegeHandler, register_privilege_agent
from streams.engines.faust.app import create_app
from streams.engines.faust.output import TransactionalOutput
from streams.engines.faust.rocksdb_safety import guard_table_files
from streams.engines.faust.tables import WorkerTables
from streams.engines.faust.topics import WorkerTopics
from streams.engines.faust.views import register_views
from streams.settings import WorkerSettings
from streams.state.tables import TableStore


@dataclass(frozen=True)
class PrivilegeWorker:
    """A built worker: start ``app`` (in-process) or run it with ``faust.Worker``."""

    app: faust.App
    topics: WorkerTopics
    tables: WorkerTables
    store: TableStore
    handler: PrivilegeHandler


def build_worker(
    settings: WorkerSettings, *, raw_partitions: int, replication_factor: int
) -> PrivilegeWorker:
    """Everything the worker runs, registered on a new Faust app; nothing connects yet.

    ``raw_partitions`` is the raw topic's partition count: the tables must have as many,
    partition for partition, for a district's state to live with its records.
    """
    app = create_app(settings, replication_factor=replication_factor)
    codec = default_codec()
    topics = WorkerTopics.declare(app, prefix=settings.topic_prefix)
    guard_table_files(app, settings, source_topic=topics.raw.get_topic_name())
    tables = WorkerTables.declare(app, partitions=raw_partitions)
    store = TableStore(tables, codec=codec)
    output = TransactionalOutput(app)
    handler = PrivilegeHandler(topics=topics, store=store, output=output, codec=codec)
    register_privilege_agent(app, topics=topics, handler=handler)
    register_views(app, tables=tables, store=store)
    return PrivilegeWorker(app=app, topics=topics, tables=tables, store=store, handler=handler)
