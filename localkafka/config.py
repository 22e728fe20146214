"""The files a KRaft node starts from, alone or in a local cluster: pure text rendering, no I/O."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from localkafka.security import SCRAM_MECHANISMS, USERNAME, SecurityFiles

NODE_ID = 1
# A one-node cluster has no replicas to wait for, and tests want their consumer groups at once.
# Fewer internal partitions than Kafka's 50 make the first group and the first transaction
# much quicker to set up on a laptop, and change nothing a client can observe.
_ONE_NODE_SETTINGS = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    # Topics are created explicitly, by the project's topic command and by Faust.
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}
# A replicated cluster as production runs one: three copies, two of them needed for a write,
# no election of a replica that may have lost writes. A dead node is fenced, and its partitions
# led elsewhere, 5 s after its last heartbeat rather than Kafka's 9 s: that wait is most of what
# a broker's crash costs the clients. Thread pools are trimmed (Kafka's defaults assume a core
# per thread) so that three nodes and the pipeline share two cores; internal topics keep few
# partitions, as on one node.
_CLUSTER_SETTINGS = {
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "group.initial.rebalance.delay.ms": "0",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "unclean.leader.election.enable": "false",
    "broker.session.timeout.ms": "5000",
    "broker.heartbeat.interval.ms": "1000",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "num.replica.fetchers": "1",
    "background.threads": "2",
    "log.cleaner.threads": "1",
    "num.recovery.threads.per.data.dir": "1",
}


@dataclass(frozen=True)
class ClusterNode:
    """One combined broker+controller of a local cluster: its ID and the controller quorum
    every node of the cluster shares (``id@host:port`` of each controller)."""

    node_id: int
    voters: str


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker's files live inside its state folder."""

    state_dir: Path

    @property
    def data_dir(self) -> Path:
        """KRaft metadata and topic data (Kafka's ``log.dirs``)."""
        return self.state_dir / "data"

    @property
    def log_dir(self) -> Path:
        """The broker's own log files."""
        return self.state_dir / "logs"

    @property
    def log_file(self) -> Path:
        """The broker's main log."""
        return self.log_dir / "server.log"

    @property
    def console_file(self) -> Path:
        """What the JVM writes to stdout and stderr (crashes before logging starts)."""
        return self.log_dir / "console.out"

    @property
    def server_properties(self) -> Path:
        """The broker's configuration."""
        return self.state_dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        """The broker's logging configuration."""
        return self.state_dir / "log4j2.properties"

    @property
    def ports_file(self) -> Path:
        """The ports the broker last listened on, reused by the next start."""
        return self.state_dir / "ports.json"

    @property
    def state_file(self) -> Path:
        """What we know of the running broker: pid, ports, cluster ID."""
        return self.state_dir / "broker.json"

    @property
    def lock_file(self) -> Path:
        """Held while a start or stop is under way."""
        return self.state_dir / ".lock"

    @property
    def security_files(self) -> SecurityFiles:
        """The CA, certificates and SASL password of a SASL_SSL broker."""
        return SecurityFiles(self.state_dir / "security")

    @property
    def scram_marker(self) -> Path:
        """Present once the data folder was formatted with the SASL user's SCRAM credentials."""
        return self.data_dir / ".scram-users"

    @property
    def command_line_marker(self) -> str:
        """A JVM argument naming this state folder, so its process can be found in /proc."""
        return f"-Dclever_stream.local_kafka.state_dir={self.state_dir}"


def new_cluster_id() -> str:
    """A KRaft cluster ID: 16 random bytes, URL-safe base64 without padding (as kafka-storage).

    Like Kafka's own ``Uuid.randomUuid``, never one that starts with "-": a command line
    would take it for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class SecureListeners:
    """The listeners of a SASL_SSL broker: SASL_SSL on the broker port, mutual TLS on
    ``tls_port`` and on the controller's port; nothing in plaintext."""

    tls_port: int
    files: SecurityFiles
    password: str


def render_server_properties(
    *,
    host: str,
    broker_port: int,
    controller_port: int,
    data_dir: Path,
    secure: SecureListeners | None = None,
    node: ClusterNode | None = None,
) -> str:
    """``server.properties`` for a combined broker+controller on ``host``: plaintext, or
    with ``secure`` listeners only; a cluster's ``node``, or a cluster of one."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id if node else NODE_ID),
        "controller.quorum.voters": node.voters if node else f"{NODE_ID}@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        **(_CLUSTER_SETTINGS if node else _ONE_NODE_SETTINGS),
    }
    if secure is not None:
        settings.update(
            _secure_settings(
                host=host, broker_port=broker_port, controller_port=controller_port, secure=secure
            )
        )
    lines = ["# Written by clever-stream's localkafka; changes are overwritten at start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _secure_settings(
    *, host: str, broker_port: int, controller_port: int, secure: SecureListeners
) -> dict[str, str]:
    files = secure.files
    scram_jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    plain_jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_{USERNAME}="{secure.password}";'
    )
    return {
        "listeners": (
            f"SASL_SSL://{host}:{broker_port},SSL://{host}:{secure.tls_port},"
            f"CONTROLLER://{host}:{controller_port}"
        ),
        "advertised.listeners": f"SASL_SSL://{host}:{broker_port},SSL://{host}:{secure.tls_port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:SSL",
        # The broker talks to itself and to its controller over mutual TLS, as its own client.
        "inter.broker.listener.name": "SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(files.broker_keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca_certificate),
        "ssl.client.auth": "required",
        "listener.name.sasl_ssl.ssl.client.auth": "none",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": ",".join(("PLAIN", *SCRAM_MECHANISMS)),
        "listener.name.sasl_ssl.plain.sasl.jaas.config": plain_jaas,
        **{
            f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config": scram_jaas
            for mechanism in SCRAM_MECHANISMS
        },
    }


def scram_format_arguments(password: str) -> list[str]:
    """``kafka-storage format`` arguments that create the SASL user's SCRAM credentials."""
    return [
        f"--add-scram={mechanism}=[name={USERNAME},password={password}]"
        for mechanism in SCRAM_MECHANISMS
    ]


def render_log4j2(log_file: Path) -> str:
    """Log4j 2 properties: INFO to a rolling file, the chattiest loggers at WARN."""
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = file",
            f"appender.file.fileName = {log_file}",
            f"appender.file.filePattern = {log_file}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 20MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 5",
            "rootLogger.level = info",
            "rootLogger.appenderRef.file.ref = file",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = warn",
            "logger.state.name = state.change.logger",
            "logger.state.level = warn",
            "",
        ]
    )


def jvm_arguments(*, heap: str, layout: BrokerLayout, shared_cores: bool = False) -> list[str]:
    """The JVM options of the broker (before the main class); ``shared_cores`` gives a node
    of a local cluster one GC thread of each kind, as its JVM shares the cores with others."""
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        *(["-XX:ParallelGCThreads=1", "-XX:ConcGCThreads=1"] if shared_cores else []),
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={layout.log4j_config}",
        f"-Dkafka.logs.dir={layout.log_dir}",
        layout.command_line_marker,
    ]
