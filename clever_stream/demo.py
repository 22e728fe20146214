"""The main job on embedded defaults: a local Kafka, a fake Clever district, the poller and
a worker.

Start what is needed in numbered steps, say where everything is, show what flows (on a
terminal, a live screen: ``demo_screen``), run until Ctrl-C, stop in order, print the totals.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from pydantic import AliasChoices
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from clever_stream.demo_pipeline import DemoDistrict, RunningPipeline, demo_pipeline
from clever_stream.demo_screen import LEGEND, DemoScreen
from clever_stream.selfcheck import RoundTrip, transactional_round_trip
from clever_stream.settings import CliSettings
from foundation.admin import TopicOutcome
from foundation.connection import KafkaConnection
from foundation.console import RepeatedLines
from foundation.settings import KafkaSettings
from foundation.signals import run_until_signalled, sigterm_as_interrupt
from localkafka import LocalKafkaSettings, RunningBroker, local_kafka
from localkafka.procs import is_alive
from schemas.provision import ensure_pipeline_topics
from schemas.topics import SELFCHECK, TopicSpec

logger = logging.getLogger(__name__)


def run_demo(
    settings: CliSettings,
    kafka_settings: LocalKafkaSettings,
    *,
    console: Console,
    duration_s: float | None,
    fresh: bool,
) -> None:
    """Run until Ctrl-C, SIGTERM or ``duration_s``; leave no broker process behind.

    A local broker of the demo's own runs from a state folder of its own (``<state
    folder>-demo``), so a broker the user started (``local-kafka start``) is never touched.
    """
    started = time.perf_counter()
    kafka_settings = demo_kafka_settings(kafka_settings)
    log_file = _logs_to_file(kafka_settings.resolved_state_dir / "demo.log")
    console.print(f"The libraries' log goes to {log_file}", highlight=False, soft_wrap=True)
    broker: RunningBroker | None = None
    with sigterm_as_interrupt():
        try:
            if not kafka_settings.bootstrap_servers:
                console.print(
                    "1/4 Starting a local Kafka broker "
                    "(the first run resolves it from Maven Central)..."
                )
            with local_kafka(kafka_settings, fresh=fresh) as broker:
                asyncio.run(
                    run_until_signalled(
                        _serve(
                            broker,
                            settings,
                            console=console,
                            duration_s=duration_s,
                            started=started,
                            log_file=log_file,
                        )
                    )
                )
                console.print("Stopping...")
        except KeyboardInterrupt:
            console.print("Interrupted; stopped what had started.")
    if broker is not None and broker.started_here and broker.pid is not None:
        if is_alive(broker.pid):
            console.print(f"[red]Kafka pid {broker.pid} is still running[/red]")
        else:
            console.print(f"Kafka (pid {broker.pid}) stopped. Nothing is left running.")


def _logs_to_file(path: Path) -> Path:
    """Send every log record to ``path`` instead of the screen, which the demo keeps for the
    pipeline's own output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatedLines())
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


def demo_kafka_settings(settings: LocalKafkaSettings) -> LocalKafkaSettings:
    """``settings`` with a state folder of the demo's own beside the user's."""
    state = settings.resolved_state_dir
    return settings.model_copy(update={"state_dir": state.with_name(f"{state.name}-demo")})


async def _serve(
    broker: RunningBroker,
    settings: CliSettings,
    *,
    console: Console,
    duration_s: float | None,
    started: float,
    log_file: Path,
) -> None:
    """Set the pipeline up, step by step, then run it; ``started`` is when the demo began."""
    kafka = broker_connection(broker, settings)
    console.print(f"2/4 Creating the pipeline's topics ({time.perf_counter() - started:.1f}s)...")
    topics = await ensure_pipeline_topics(kafka, settings, timeout_s=settings.kafka_timeout_s)
    console.print(
        f"3/4 Proving a transactional round trip ({time.perf_counter() - started:.1f}s)..."
    )
    round_trip = await transactional_round_trip(
        kafka,
        topic=SELFCHECK.name(settings.topic_prefix),
        timeout_s=settings.kafka_timeout_s,
    )
    console.print(_where_everything_is(broker, topics, round_trip))
    console.print(
        f"4/4 Starting a fake Clever district, the poller and a worker "
        f"({time.perf_counter() - started:.1f}s)..."
    )
    live = console.is_terminal
    screen = DemoScreen()

    def echo(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True)

    with tempfile.TemporaryDirectory(prefix="clever-stream-demo-worker-") as data_dir:
        async with demo_pipeline(
            kafka,
            settings,
            screen=screen,
            echo=None if live else echo,
            shape=DemoDistrict(),
            data_dir=Path(data_dir),
        ) as pipeline:
            screen.where = _where_it_runs(broker, pipeline, log_file)
            ready = f"Ready in {time.perf_counter() - started:.1f}s since the demo began."
            try:
                if live:
                    console.print(ready)
                    with Live(screen, console=console, refresh_per_second=4, transient=False):
                        await _until_stopped(duration_s)
                else:
                    _describe_plainly(pipeline, console=console)
                    console.print(ready)
                    console.print("Press Ctrl-C to stop.")
                    await _until_stopped(duration_s)
            finally:
                totals = screen.totals()
                console.print(
                    f"Shown: {totals['GRANTED']} granted, {totals['REVOKED']} revoked, "
                    f"{totals['CHANGED']} changed.",
                    highlight=False,
                )


def broker_connection(broker: RunningBroker, settings: KafkaSettings) -> KafkaConnection:
    """How a client reaches ``broker``: an external cluster (KAFKA_BOOTSTRAP_SERVERS) with the
    configured security (``settings``); a local broker as it was started, plaintext or with
    its own SASL user and CA."""
    if broker.external:
        return settings.kafka_connection()
    if broker.security is None:
        return KafkaConnection(broker.bootstrap_servers)
    # The broker's own variables over every KAFKA_* default: the environment's are for an
    # external cluster, not this one.
    defaults = {
        field.validation_alias.choices[0]: field.default
        for name, field in KafkaSettings.model_fields.items()
        if name.startswith("kafka_") and isinstance(field.validation_alias, AliasChoices)
    }
    return KafkaSettings.model_validate(defaults | broker.client_environment()).kafka_connection()


async def _until_stopped(duration_s: float | None) -> None:
    """Wait for Ctrl-C, SIGTERM or ``duration_s``."""
    if duration_s is None:
        await asyncio.Event().wait()
    else:
        await asyncio.sleep(duration_s)


def _where_it_runs(
    broker: RunningBroker, pipeline: RunningPipeline, log_file: Path
) -> list[tuple[str, str]]:
    """The live screen's header rows."""
    return [
        ("Kafka", f"{broker.bootstrap_servers} ({_describe_broker(broker)})"),
        ("fake Clever", f"{pipeline.clever_url}, district {pipeline.district.id}"),
        ("changes topic", f"{pipeline.changes_topic} (read here as a downstream consumer)"),
        ("ask the worker", f"{pipeline.views_url}/students/<student>/contacts"),
        ("", f"{pipeline.views_url}/contacts/<contact>/students"),
        ("libraries' log", str(log_file)),
    ]


def _describe_plainly(pipeline: RunningPipeline, *, console: Console) -> None:
    """Where the pipeline is, then the legend: the scrolling output's header."""
    console.print(
        f"Fake Clever at {pipeline.clever_url}: district {pipeline.district.id}, changing every "
        f"few seconds. The poller brings its events to Kafka, the worker turns them into "
        f"privilege changes on {pipeline.changes_topic}; below is what a read_committed "
        f"consumer of that topic sees.\n"
        f"Ask the worker: {pipeline.views_url}/students/<student>/contacts or "
        f"{pipeline.views_url}/contacts/<contact>/students",
        highlight=False,
        soft_wrap=True,
    )
    console.print(LEGEND, highlight=False, soft_wrap=True)


def _where_everything_is(
    broker: RunningBroker, topics: list[TopicOutcome[TopicSpec]], round_trip: RoundTrip
) -> Group:
    where = Table(title="Where everything is", show_header=False, title_justify="left")
    where.add_column(style="bold")
    where.add_column()
    where.add_row("Kafka", _describe_broker(broker))
    where.add_row("bootstrap servers", broker.bootstrap_servers)
    if not broker.external:
        where.add_row("broker log", str(broker.log_file))
        where.add_row("broker data", str(broker.data_dir))
        where.add_row("Kafka jars", str(broker.jars_dir))
    where.add_row(
        "round trip",
        f"committed to {round_trip.topic}[{round_trip.partition}]@{round_trip.offset} and read "
        f"back with read_committed in {round_trip.latency_ms:.0f} ms; the aborted write was "
        "not seen",
    )
    topic_table = Table(title="Topics", title_justify="left")
    for heading in ("topic", "partitions", "cleanup", ""):
        topic_table.add_column(heading)
    for outcome in topics:
        topic_table.add_row(
            outcome.name,
            str(outcome.partitions),
            str(outcome.spec.cleanup_policy),
            "created" if outcome.created else "existed",
        )
    return Group(where, topic_table)


def _describe_broker(broker: RunningBroker) -> str:
    if broker.external:
        return "external cluster (KAFKA_BOOTSTRAP_SERVERS)"
    owner = "started by this demo" if broker.started_here else "already running, left running"
    return f"Apache Kafka {broker.kafka_version}, pid {broker.pid}, {owner}"
