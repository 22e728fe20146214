"""The Faust engine behind ``streams.engines.WorkerEngine``: in-process, or as Faust's worker.

As a process (``serve``), Faust's own ``faust.Worker`` runs the app: it owns the event loop
and handles SIGTERM and Ctrl-C. In-process (the demo, tests), the app is started and
stopped as the mode service it is, with transactions as deployed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any, NoReturn, cast

import faust
from faust.types import TP

from foundation.connection import KafkaConnection
from foundation.console import LogOptions, configure_logging
from streams.engines.faust.changelogs import ensure_changelog_topics
from streams.engines.faust.worker import PrivilegeWorker, build_worker, is_ready
from streams.metrics import WorkerMetrics
from streams.processor.handler import RecordHandler
from streams.settings import WorkerSettings
from streams.views import CommittedState

#: How long the event loop's teardown may take once Faust's stop is over.
_TEARDOWN_S = 10.0


class FaustEngine:
    """A privilege worker of Faust agents and tables."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        kafka: KafkaConnection,
        raw_partitions: int,
        replicas: int,
    ) -> None:
        self._kafka = kafka
        self._replicas = replicas
        #: Everything registered on a new app; nothing connects before ``start``.
        self.worker: PrivilegeWorker = build_worker(
            settings, kafka=kafka, raw_partitions=raw_partitions, replication_factor=replicas
        )
        self._ready = asyncio.Event()

    @property
    def ready(self) -> asyncio.Event:
        return self._ready

    async def _ensure_changelogs(self) -> None:
        await ensure_changelog_topics(
            self._kafka,
            self.worker.app.tables.values(),
            replication_factor=self._replicas,
            timeout_s=60,
        )

    async def start(self) -> None:
        await self._ensure_changelogs()
        app = self.worker.app
        # As deployed: exactly_once runs with Kafka transactions only "in a worker".
        app.in_worker = True
        await app.start()
        self._ready.set()

    async def stop(self) -> None:
        await self.worker.app.stop()

    async def wait(self) -> None:
        await self.worker.app.wait_until_stopped()

    @property
    def handler(self) -> RecordHandler:
        return self.worker.handler.records

    @property
    def metrics(self) -> WorkerMetrics:
        return self.worker.metrics

    def is_ready(self) -> bool:
        return self._ready.is_set() and is_ready(self.worker.app)

    def committed_store(self, partition: int) -> CommittedState | None:
        raw = self.worker.topics.raw.get_topic_name()
        owned = self.worker.app.assignor.assigned_actives()
        return self.worker.store if TP(raw, partition) in owned else None

    def serve(self, *, log: LogOptions) -> NoReturn:
        """Run Faust's worker until SIGTERM or Ctrl-C (Faust handles both), then exit.

        Faust stops its services and closes its event loop, but the aiokafka consumer thread
        it leaves behind is not a daemon, so the interpreter would wait for it forever. Once
        Faust is done (transactions ended, producers stopped), the process exits on its own
        terms.
        """
        # Our logging, not mode's: one format (and --log-format) for both engines.
        configure_logging(verbose=log.verbose, log_format=log.format, debug=log.debug)
        asyncio.run(self._ensure_changelogs())
        code: int | str | None = 0
        try:
            runner = faust.Worker(
                self.worker.app,
                loglevel=logging.DEBUG
                if log.debug
                else logging.INFO
                if log.verbose
                else logging.WARNING,
                quiet=True,
                console_port=0,
                override_logging=False,
            )
            # Faust's terminal spinner, kept at WARNING and above, turns the root logger to
            # DEBUG so that it spins on every record: every debug call of Faust and aiokafka
            # then builds a log record, about a fifth of the worker's CPU.
            runner.spinner = None
            cast(Any, runner).on_worker_shutdown = lambda: _exit_if_stuck(_TEARDOWN_S)
            runner.execute_from_commandline()
        except SystemExit as exit_:
            code = exit_.code
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def _exit_if_stuck(after_s: float) -> None:
    """Exit ``after_s`` from now if the process is still there then.

    Called by mode's worker once Faust's stop is over (transactions ended, the consumer
    asked to leave its group): only the event loop's teardown is left, which a consumer
    thread still held by a pending group join was once seen to hold up past the stop
    timeout (decision 0023). The exit is written to stderr directly: a logging lock that
    thread holds must not hold the exit up too.
    """

    def exit_now() -> None:
        os.write(
            2,
            f"the worker's stop took over {after_s:g} s (a Faust thread still busy); "
            "exiting\n".encode(),
        )
        os._exit(0)

    timer = threading.Timer(after_s, exit_now)
    timer.daemon = True
    timer.start()
