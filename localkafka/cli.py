"""``local-kafka``: resolve, start, stop and inspect the project's local broker."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from foundation.console import (
    LogFormat,
    LogFormatOption,
    VerboseOption,
    configure_logging,
    reporting_errors,
)
from foundation.settings import read_settings
from localkafka.broker import LocalKafka, RunningBroker
from localkafka.cluster import LocalKafkaCluster, RunningCluster
from localkafka.exceptions import LocalKafkaError
from localkafka.maven import cached_jars, resolve_kafka
from localkafka.settings import LocalKafkaSettings

app = typer.Typer(
    help="Apache Kafka (KRaft) on 127.0.0.1, from Maven Central, without Docker: one node, or "
    "a local cluster (--nodes 3).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
# Exit code of `status` when no broker serves, as an LSB init script's status does.
NOT_RUNNING = 3


class Security(StrEnum):
    """The broker's listeners: plaintext, or SASL_SSL and mutual TLS only."""

    PLAINTEXT = "plaintext"
    SASL_SSL = "sasl_ssl"


SecurityOption = Annotated[
    Security | None,
    typer.Option(
        help="plaintext, or sasl_ssl: SASL_SSL and mutual-TLS listeners with a throwaway CA "
        "and SASL user, in their own state folder [default: LOCAL_KAFKA_SECURITY, else "
        "plaintext].",
        case_sensitive=False,
    ),
]


def _cluster_size(nodes: int | None) -> int | None:
    if nodes == 2:  # the one size a cluster of 3 replicas cannot have
        raise typer.BadParameter("a cluster has 3 nodes or more (its topics keep 3 replicas)")
    return nodes


NodesOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=9,
        callback=_cluster_size,
        help="Nodes: 1, or a cluster (3: replication factor 3, min.insync.replicas 2), in a "
        "state folder of its own [default: LOCAL_KAFKA_NODES, else 1].",
    ),
]
NodeArgument = Annotated[int, typer.Argument(min=1, help="The node's ID (1 to --nodes).")]


@app.callback()
def configure(verbose: VerboseOption = False, log_format: LogFormatOption = LogFormat.TEXT) -> None:
    """Settings come from LOCAL_KAFKA_* variables (see .env.example)."""
    configure_logging(verbose=verbose, log_format=log_format)


@app.command()
def resolve() -> None:
    """Resolve Kafka's jars from Maven Central into the cache (reused when already there)."""
    settings = _settings()
    cached = cached_jars(settings) is not None
    started = time.monotonic()
    if not cached:
        console.print(
            f"Resolving Kafka {settings.kafka_version}'s jars from Maven Central with Maven "
            "(the first time only: about a minute)...",
            highlight=False,
            soft_wrap=True,
        )
    with reporting_errors(console):
        jars = resolve_kafka(settings)
    how = "already in the cache" if cached else f"resolved in {time.monotonic() - started:.1f}s"
    console.print(
        f"Kafka {jars.version} jars in [bold]{jars.libs_dir}[/bold] ({how})", soft_wrap=True
    )


@app.command()
def start(
    fresh: Annotated[bool, typer.Option(help="Delete earlier topics and data first.")] = False,
    security: SecurityOption = None,
    nodes: NodesOption = None,
) -> None:
    """Start a broker that keeps running after this command (stop it with `stop`)."""
    settings = _settings(security, nodes)
    if settings.nodes > 1:
        with reporting_errors(console):
            cluster = LocalKafkaCluster(settings).start(detached=True, fresh=fresh)
        verb = "Started" if cluster.started_here else "Already running:"
        console.print(f"{verb} a {len(cluster.nodes)}-node Kafka cluster")
        _describe_cluster(cluster)
        return
    with reporting_errors(console):
        broker = LocalKafka(settings).start(detached=True, fresh=fresh)
    verb = "Started" if broker.started_here else "Already running:"
    console.print(f"{verb} Kafka {broker.kafka_version} pid {broker.pid}")
    _describe(broker)


@app.command()
def stop(security: SecurityOption = None, nodes: NodesOption = None) -> None:
    """Stop the broker (SIGTERM, then SIGKILL after LOCAL_KAFKA_STOP_TIMEOUT_S)."""
    settings = _settings(security, nodes)
    with reporting_errors(console):
        if settings.nodes > 1:
            stopped = LocalKafkaCluster(settings).stop()
        else:
            stopped = LocalKafka(settings).stop()
    console.print("Stopped." if stopped else "No broker was running.")


@app.command()
def status(security: SecurityOption = None, nodes: NodesOption = None) -> None:
    """Say whether the broker serves; exit 0 if it does, 3 if not (for a cluster: every node)."""
    settings = _settings(security, nodes)
    if settings.nodes > 1:
        with reporting_errors(console):
            states = LocalKafkaCluster(settings).status()
        for node_id, node_state in enumerate(states, start=1):
            running = "Running: " if node_state.running else "Not running: "
            console.print(f"node {node_id}  {running}{node_state.detail}", soft_wrap=True)
        if not states or not all(node_state.running for node_state in states):
            if not states:
                console.print("Not running: no cluster was started from this state folder")
            raise typer.Exit(NOT_RUNNING)
        return
    state = LocalKafka(settings).status()
    console.print(("Running: " if state.running else "Not running: ") + state.detail)
    if state.broker is not None:
        _describe(state.broker)
    if not state.running:
        raise typer.Exit(NOT_RUNNING)


@app.command("kill-node")
def kill_node(node: NodeArgument, nodes: NodesOption = None) -> None:
    """SIGKILL one node of the cluster, as a crash would (try a failover)."""
    settings = _cluster_settings(nodes)
    with reporting_errors(console):
        killed = LocalKafkaCluster(settings).kill(node)
    console.print(f"Killed node {node}." if killed else f"Node {node} was not running.")


@app.command("start-node")
def start_node(node: NodeArgument, nodes: NodesOption = None) -> None:
    """Start one node of the cluster again, on its ports and data."""
    settings = _cluster_settings(nodes)
    with reporting_errors(console):
        broker = LocalKafkaCluster(settings).restart(node, detached=True)
    console.print(f"Node {node} serving at {broker.bootstrap_servers} (pid {broker.pid})")


def _describe_cluster(cluster: RunningCluster) -> None:
    print_ = console.print
    for node_id, broker in cluster.nodes.items():
        print_(
            f"  node {node_id}             {broker.bootstrap_servers} pid {broker.pid}, "
            f"log {broker.log_file}",
            soft_wrap=True,
        )
    print_(
        f"  use it with        export KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}",
        soft_wrap=True,
    )


def _describe(broker: RunningBroker) -> None:
    print_ = console.print
    secure = broker.security
    if secure is None:
        print_(f"  bootstrap servers  {broker.bootstrap_servers}", soft_wrap=True)
    else:
        files = secure.files
        print_(
            f"  bootstrap servers  {broker.bootstrap_servers} (SASL_SSL: PLAIN, SCRAM-SHA-256, "
            f"SCRAM-SHA-512 as {secure.username})",
            soft_wrap=True,
        )
        print_(
            f"  mutual TLS         {secure.tls_bootstrap_servers} (SSL, with "
            f"{files.client_certificate} and {files.client_key})",
            soft_wrap=True,
        )
        print_(f"  CA certificate     {files.ca_certificate}", soft_wrap=True)
        print_(f"  SASL password in   {files.password_file}", soft_wrap=True)
    print_(f"  log file           {broker.log_file}", soft_wrap=True)
    print_(f"  data folder        {broker.data_dir}", soft_wrap=True)
    if secure is None:
        print_(
            f"  use it with        export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}",
            soft_wrap=True,
        )
    else:
        print_(f"  use it with        set -a; . {secure.files.client_env}; set +a", soft_wrap=True)


def main() -> None:
    """Entry point of the ``local-kafka`` command."""
    app()


def _settings(security: Security | None = None, nodes: int | None = None) -> LocalKafkaSettings:
    """The broker's settings, ``security`` over LOCAL_KAFKA_SECURITY and ``nodes`` over
    LOCAL_KAFKA_NODES; a mistake in them is one line, no traceback."""
    with reporting_errors(console):
        settings = read_settings(LocalKafkaSettings, what="the local broker")
    update: dict[str, object] = {}
    if security is not None:
        update["security"] = security.value
    if nodes is not None:
        update["nodes"] = nodes
    return settings.model_copy(update=update) if update else settings


def _cluster_settings(nodes: int | None) -> LocalKafkaSettings:
    settings = _settings(nodes=nodes)
    with reporting_errors(console):
        if settings.nodes < 2:
            raise LocalKafkaError(
                "kill-node and start-node act on a node of a cluster",
                hint="name the cluster's size: --nodes 3, or LOCAL_KAFKA_NODES=3",
            )
    return settings
