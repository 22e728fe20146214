"""Start, stop and inspect one local KRaft node (broker and controller in one JVM): a broker
of its own, or one node of a local cluster (``localkafka.cluster``).

Each broker owns a state folder: its data, its logs, a JSON record of its pid and ports, and
a lock held during a start or stop, so two starts never race for one folder. A broker left by
a crashed run is recognised by its pid *and* start time (pids are reused) or, if the record is
gone, by the state folder named on its command line, and is stopped before a new one starts.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from localkafka import procs
from localkafka.config import (
    BrokerLayout,
    ClusterNode,
    SecureListeners,
    jvm_arguments,
    new_cluster_id,
    render_log4j2,
    render_server_properties,
    scram_format_arguments,
)
from localkafka.exceptions import BrokerStartError, PortInUseError
from localkafka.filelock import file_lock
from localkafka.maven import KafkaJars, kafka_dir, resolve_kafka
from localkafka.ports import free_port, port_is_free
from localkafka.probe import ProbeLogin, is_serving
from localkafka.security import (
    CLIENT_MECHANISM,
    USERNAME,
    SecurityFiles,
    ensure_secrets,
    write_client_env,
)
from localkafka.settings import LocalKafkaSettings
from localkafka.toolchain import Java, find_java

logger = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.2
_KILL_WAIT_S = 10.0
_LOG_TAIL_LINES = 30
_PR_SET_PDEATHSIG = 1
# Brokers this process started, by pid: any LocalKafka of the same state folder may stop
# one, and whoever does must reap it (and keep it from being collected while it runs).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class BrokerRecord:
    """What ``broker.json`` remembers of a broker we started."""

    pid: int
    start_ticks: int | None
    host: str
    broker_port: int
    controller_port: int
    cluster_id: str
    kafka_version: str
    detached: bool
    security: str = "plaintext"
    tls_port: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients."""
        return f"{self.host}:{self.broker_port}"


@dataclass(frozen=True)
class BrokerSecurity:
    """How a client reaches a SASL_SSL broker: the SASL user, the CA to trust, and the
    mutual-TLS listener with a client certificate."""

    files: SecurityFiles
    tls_bootstrap_servers: str
    username: str = USERNAME
    mechanism: str = CLIENT_MECHANISM

    def client_environment(self, bootstrap_servers: str) -> dict[str, str]:
        """The KAFKA_* variables of a SASL_SSL client (the password as a file)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": self.mechanism,
            "KAFKA_SASL_USERNAME": self.username,
            "KAFKA_SASL_PASSWORD_FILE": str(self.files.password_file),
            "KAFKA_SSL_CA_LOCATION": str(self.files.ca_certificate),
        }

    def tls_client_environment(self) -> dict[str, str]:
        """The KAFKA_* variables of a client of the mutual-TLS listener."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.tls_bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CA_LOCATION": str(self.files.ca_certificate),
            "KAFKA_SSL_CERTIFICATE_LOCATION": str(self.files.client_certificate),
            "KAFKA_SSL_KEY_LOCATION": str(self.files.client_key),
        }


@dataclass(frozen=True)
class RunningBroker:
    """A broker clients can use: one we run locally, or an external cluster."""

    bootstrap_servers: str
    external: bool
    started_here: bool
    pid: int | None = None
    kafka_version: str | None = None
    state_dir: Path | None = None
    log_file: Path | None = None
    data_dir: Path | None = None
    jars_dir: Path | None = None
    security: BrokerSecurity | None = None

    def client_environment(self) -> dict[str, str]:
        """The KAFKA_* variables of a client of this broker."""
        if self.security is None:
            return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers}
        return self.security.client_environment(self.bootstrap_servers)


@dataclass(frozen=True)
class BrokerStatus:
    """Whether the broker of a state folder runs, and why we think so."""

    running: bool
    detail: str
    broker: RunningBroker | None = None


class LocalKafka:
    """The broker of one state folder: alone, or ``node`` of a cluster whose storage is
    formatted with ``cluster_id``."""

    def __init__(
        self,
        settings: LocalKafkaSettings,
        *,
        node: ClusterNode | None = None,
        cluster_id: str | None = None,
    ) -> None:
        self._settings = settings
        self._node = node
        self._cluster_id = cluster_id
        self.layout = BrokerLayout(settings.resolved_state_dir)
        # Where the log files ended when this broker was launched: errors quote only its run.
        self._log_offsets: dict[Path, int] = {}

    def start(
        self, *, detached: bool = False, fresh: bool = False, wait: bool = True
    ) -> RunningBroker:
        """Start the broker, or return the one already serving from this state folder.

        ``detached`` leaves it running after this process exits (the ``local-kafka start``
        command); otherwise it is stopped by :meth:`stop` and dies with this process even on
        SIGKILL. ``fresh`` deletes the topics and metadata of any earlier run first.
        ``wait`` False returns once the JVM is launched: a cluster's node serves only once a
        quorum of its peers runs, so a cluster launches them all, then waits for each
        (:meth:`wait_until_serving`). Must be called from the main thread: Linux ties the
        broker's life to that thread.
        """
        # Before the lock: a first resolve may take minutes, and has a lock of its own.
        java = find_java()
        jars = resolve_kafka(self._settings)
        with file_lock(
            self.layout.lock_file, timeout_s=self._settings.lock_timeout_s, purpose="broker start"
        ):
            record = self._live_record()
            if record is not None and not fresh and self._serving(record):
                logger.info("reusing broker pid %d at %s", record.pid, record.bootstrap_servers)
                if not record.detached:
                    logger.warning(
                        "broker pid %d belongs to another running process and stops with it; "
                        "`local-kafka start` gives one that outlives every user",
                        record.pid,
                    )
                return self._running(record, started_here=False)
            if record is not None:
                logger.warning(
                    "stopping broker pid %d of an earlier run (%s)",
                    record.pid,
                    "fresh start requested" if fresh else "it does not answer",
                )
            self._stop_everything()
            if fresh:
                shutil.rmtree(self.layout.data_dir, ignore_errors=True)
            return self._launch(java, jars, detached=detached, wait=wait)

    def wait_until_serving(self) -> RunningBroker:
        """Wait until the broker this object launched serves (after ``start(wait=False)``)."""
        record = self._read_record()
        process = _CHILDREN.get(record.pid) if record is not None else None
        if record is None or process is None:
            raise BrokerStartError(
                f"no broker of {self.layout.state_dir} was launched by this process",
                hint="start it first",
            )
        started = time.monotonic()
        self._wait_until_serving(process, record)
        logger.info(
            "Kafka ready at %s in %.1fs", record.bootstrap_servers, time.monotonic() - started
        )
        return self._running(record, started_here=True)

    def running_view(self, *, started_here: bool) -> RunningBroker:
        """The broker of this folder's record, as clients see it."""
        record = self._read_record()
        if record is None:
            raise BrokerStartError(
                f"no broker of {self.layout.state_dir} runs", hint="start it first"
            )
        return self._running(record, started_here=started_here)

    def kill(self) -> bool:
        """SIGKILL the broker, as a crash would: no clean shutdown, its data left as it is.
        True if one ran."""
        with file_lock(
            self.layout.lock_file, timeout_s=self._settings.lock_timeout_s, purpose="broker kill"
        ):
            pids = set(procs.pids_with_argument(self.layout.command_line_marker))
            record = self._read_record()
            if record is not None and self._is_ours(record):
                pids.add(record.pid)
            for pid in sorted(pids):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_for_exit(pid, _KILL_WAIT_S)
            self._forget_record()
            return bool(pids)

    def stop(self) -> bool:
        """Stop the broker of this state folder (and any orphan of it); True if one ran."""
        with file_lock(
            self.layout.lock_file, timeout_s=self._settings.lock_timeout_s, purpose="broker stop"
        ):
            return self._stop_everything()

    def status(self) -> BrokerStatus:
        """Whether a broker serves from this state folder."""
        record = self._read_record()
        if record is None:
            orphans = procs.pids_with_argument(self.layout.command_line_marker)
            if orphans:
                return BrokerStatus(False, f"no record, but orphan broker pids {orphans} run")
            return BrokerStatus(False, "not running")
        if not self._is_ours(record):
            return BrokerStatus(False, f"stale record: pid {record.pid} is gone")
        broker = self._running(record, started_here=False)
        if self._serving(record):
            return BrokerStatus(True, f"serving at {record.bootstrap_servers}", broker)
        return BrokerStatus(False, f"pid {record.pid} runs but does not answer", broker)

    # -- starting ---------------------------------------------------------------------------

    def _launch(self, java: Java, jars: KafkaJars, *, detached: bool, wait: bool) -> RunningBroker:
        settings = self._settings
        layout = self.layout
        layout.log_dir.mkdir(parents=True, exist_ok=True)
        broker_port, controller_port, tls_port = self._choose_ports()
        secure = None
        if settings.security == "sasl_ssl":
            password = ensure_secrets(layout.security_files, settings.host)
            secure = SecureListeners(tls_port, layout.security_files, password)
            write_client_env(layout.security_files, f"{settings.host}:{broker_port}")
        # The secure broker's file names a password: its owner alone reads it.
        descriptor = os.open(layout.server_properties, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as properties:
            properties.write(
                render_server_properties(
                    host=settings.host,
                    broker_port=broker_port,
                    controller_port=controller_port,
                    data_dir=layout.data_dir,
                    secure=secure,
                    node=self._node,
                )
            )
        layout.server_properties.chmod(0o600)
        layout.log4j_config.write_text(render_log4j2(layout.log_file), encoding="utf-8")
        cluster_id = self._format_storage(java, jars, secure)
        command = [
            str(java.executable),
            *jvm_arguments(heap=settings.heap, layout=layout, shared_cores=self._node is not None),
            "-cp",
            jars.classpath,
            "kafka.Kafka",
            str(layout.server_properties),
        ]
        self._log_offsets = {
            path: path.stat().st_size if path.exists() else 0
            for path in (layout.console_file, layout.log_file)
        }
        started = time.monotonic()
        with layout.console_file.open("ab") as console:
            process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=layout.state_dir,
                # Its own session: a Ctrl-C in the terminal reaches us, and we stop the broker
                # after the clients that use it.
                start_new_session=True,
                preexec_fn=None if detached else _die_with_parent(),
            )
        _CHILDREN[process.pid] = process
        record = BrokerRecord(
            pid=process.pid,
            start_ticks=procs.start_ticks(process.pid),
            host=settings.host,
            broker_port=broker_port,
            controller_port=controller_port,
            cluster_id=cluster_id,
            kafka_version=jars.version,
            detached=detached,
            security=settings.security,
            tls_port=tls_port if secure is not None else None,
        )
        self._write_record(record)
        logger.info(
            "started Kafka %s pid %d at %s; log %s",
            jars.version,
            process.pid,
            record.bootstrap_servers,
            layout.log_file,
        )
        if not wait:
            return self._running(record, started_here=True)
        try:
            self._wait_until_serving(process, record)
        except KeyboardInterrupt:
            # Interrupted while waiting: leave no half-started broker behind.
            self._terminate(record.pid)
            self._forget_record()
            raise
        logger.info(
            "Kafka ready at %s in %.1fs", record.bootstrap_servers, time.monotonic() - started
        )
        return self._running(record, started_here=True)

    def _choose_ports(self) -> tuple[int, int, int]:
        """The broker's, controller's and TLS listener's ports as configured; where one is
        0, the port of the last start if it is free (so that clients of a restarted broker
        find it again), else a free one. The TLS port is 0 unless the broker is sasl_ssl."""
        host = self._settings.host
        last = self._last_ports()
        wanted_ports = [self._settings.port, self._settings.controller_port]
        if self._settings.security == "sasl_ssl":
            wanted_ports.append(self._settings.tls_port)
        ports: list[int] = []
        for wanted, previous in zip(wanted_ports, last, strict=False):
            if wanted == 0 and previous and previous not in ports and port_is_free(host, previous):
                port = previous
            elif wanted == 0:
                port = free_port(host, avoid=ports)
            elif not port_is_free(host, wanted):
                raise PortInUseError(
                    f"port {host}:{wanted} is taken by another process",
                    hint=(
                        "stop what listens there (ss -ltnp), or set LOCAL_KAFKA_PORT / "
                        "LOCAL_KAFKA_CONTROLLER_PORT / LOCAL_KAFKA_TLS_PORT to another port, "
                        "or to 0 for a free one"
                    ),
                )
            else:
                port = wanted
            ports.append(port)
        tls_port = ports[2] if len(ports) > 2 else last[2]
        self.layout.ports_file.write_text(
            json.dumps(
                {"broker_port": ports[0], "controller_port": ports[1], "tls_port": tls_port}
            ),
            encoding="utf-8",
        )
        return ports[0], ports[1], tls_port

    def _last_ports(self) -> tuple[int, int, int]:
        """The ports of the last start from this state folder, 0 where none is known."""
        try:
            found = json.loads(self.layout.ports_file.read_text(encoding="utf-8"))
            return (
                int(found["broker_port"]),
                int(found["controller_port"]),
                int(found.get("tls_port", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return 0, 0, 0

    def _format_storage(self, java: Java, jars: KafkaJars, secure: SecureListeners | None) -> str:
        """Format the KRaft data folder once; later starts keep its topics and cluster ID.

        A SASL_SSL broker's SCRAM credentials are written at that format, so a folder
        formatted for a plaintext broker cannot serve a SASL_SSL one: it is refused. A
        cluster's node is formatted with the cluster's ID; data of another cluster is deleted.
        """
        meta = self.layout.data_dir / "meta.properties"
        if meta.is_file():
            for line in meta.read_text(encoding="utf-8").splitlines():
                if line.startswith("cluster.id="):
                    if secure is not None and not self.layout.scram_marker.is_file():
                        raise BrokerStartError(
                            f"{self.layout.data_dir} holds a plaintext broker's data, without "
                            "the SCRAM user a sasl_ssl broker needs",
                            hint="start with --fresh (its topics are deleted), or set "
                            "LOCAL_KAFKA_STATE_DIR to another folder",
                        )
                    found = line.split("=", 1)[1].strip()
                    if self._cluster_id is None or found == self._cluster_id:
                        return found
            # Unreadable, or of another cluster than the one this node joins: start over.
            shutil.rmtree(self.layout.data_dir)
        cluster_id = self._cluster_id or new_cluster_id()
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [
                str(java.executable),
                f"-Dlog4j2.configurationFile={self.layout.log4j_config}",
                "-cp",
                jars.classpath,
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                f"--config={self.layout.server_properties}",
                *(scram_format_arguments(secure.password) if secure is not None else []),
            ],
            capture_output=True,
            text=True,
            timeout=self._settings.start_timeout_s,
            check=False,
        )
        if completed.returncode != 0:
            raise BrokerStartError(
                f"formatting {self.layout.data_dir} failed:\n{completed.stdout}{completed.stderr}",
                hint=f"delete {self.layout.state_dir} (or start with --fresh) and retry",
            )
        if secure is not None:
            self.layout.scram_marker.touch()
        return cluster_id

    def _wait_until_serving(self, process: subprocess.Popen[bytes], record: BrokerRecord) -> None:
        deadline = time.monotonic() + self._settings.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._forget_record()
                tail = self._log_tail()
                if "Address already in use" in tail:
                    raise PortInUseError(
                        f"the broker could not bind {record.bootstrap_servers} or its controller "
                        f"port {record.controller_port}:\n{tail}",
                        hint="retry (ports are picked free), or set LOCAL_KAFKA_PORT to a free one",
                    )
                raise BrokerStartError(
                    f"the broker exited with code {process.returncode} while starting:\n{tail}",
                    hint=f"read {self.layout.log_file} and {self.layout.console_file}",
                )
            if self._serving(record):
                return
            time.sleep(_POLL_INTERVAL_S)
        self._terminate(record.pid)
        self._forget_record()
        raise BrokerStartError(
            f"the broker was not ready within {self._settings.start_timeout_s:.0f}s:\n"
            f"{self._log_tail()}",
            hint=f"read {self.layout.log_file}; a slow machine may need a longer "
            "LOCAL_KAFKA_START_TIMEOUT_S",
        )

    # -- stopping ---------------------------------------------------------------------------

    def _stop_everything(self) -> bool:
        pids = set(procs.pids_with_argument(self.layout.command_line_marker))
        record = self._read_record()
        if record is not None and self._is_ours(record):
            pids.add(record.pid)
        for pid in sorted(pids):
            self._terminate(pid)
        self._forget_record()
        return bool(pids)

    def _terminate(self, pid: int) -> None:
        """SIGTERM (Kafka shuts down cleanly), then SIGKILL after the stop timeout."""
        started = time.monotonic()
        for sig, wait_s in (
            (signal.SIGTERM, self._settings.stop_timeout_s),
            (signal.SIGKILL, _KILL_WAIT_S),
        ):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if self._wait_for_exit(pid, wait_s):
                break
            logger.warning("broker pid %d ignored %s for %.0fs", pid, sig.name, wait_s)
        logger.info("stopped broker pid %d in %.1fs", pid, time.monotonic() - started)

    def _wait_for_exit(self, pid: int, timeout_s: float) -> bool:
        child = _CHILDREN.get(pid)
        if child is not None:
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
            del _CHILDREN[pid]
            return True
        deadline = time.monotonic() + timeout_s
        while procs.is_alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL_S)
        return True

    # -- the record -------------------------------------------------------------------------

    def _read_record(self) -> BrokerRecord | None:
        try:
            return BrokerRecord(**json.loads(self.layout.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _write_record(self, record: BrokerRecord) -> None:
        temporary = self.layout.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.layout.state_file)

    def _forget_record(self) -> None:
        self.layout.state_file.unlink(missing_ok=True)

    def _live_record(self) -> BrokerRecord | None:
        record = self._read_record()
        return record if record is not None and self._is_ours(record) else None

    def _is_ours(self, record: BrokerRecord) -> bool:
        """The recorded pid still names our broker (not a reused pid)."""
        if not procs.is_alive(record.pid):
            return False
        if record.start_ticks is not None and procs.start_ticks(record.pid) != record.start_ticks:
            return False
        return self.layout.command_line_marker in procs.command_line(record.pid)

    def _serving(self, record: BrokerRecord) -> bool:
        return is_serving(record.host, record.broker_port, login=self._probe_login(record))

    def _probe_login(self, record: BrokerRecord) -> ProbeLogin | None:
        """How the readiness probe logs in to a sasl_ssl broker; None for plaintext."""
        if record.security != "sasl_ssl":
            return None
        files = self.layout.security_files
        try:
            tls = ssl.create_default_context(cafile=str(files.ca_certificate))
            password = files.password_file.read_text(encoding="utf-8").strip()
        except (OSError, ssl.SSLError):
            return ProbeLogin(ssl.create_default_context(), USERNAME, "")  # refused: not ours
        return ProbeLogin(tls, USERNAME, password)

    def _running(self, record: BrokerRecord, *, started_here: bool) -> RunningBroker:
        return RunningBroker(
            bootstrap_servers=record.bootstrap_servers,
            external=False,
            started_here=started_here,
            pid=record.pid,
            kafka_version=record.kafka_version,
            state_dir=self.layout.state_dir,
            log_file=self.layout.log_file,
            data_dir=self.layout.data_dir,
            jars_dir=kafka_dir(self._settings, record.kafka_version) / "libs",
            security=(
                BrokerSecurity(self.layout.security_files, f"{record.host}:{record.tls_port}")
                if record.security == "sasl_ssl"
                else None
            ),
        )

    def _log_tail(self) -> str:
        """The last lines the broker of this launch wrote to its console and log."""
        lines: list[str] = []
        for path in (self.layout.console_file, self.layout.log_file):
            try:
                with path.open("rb") as log:
                    log.seek(self._log_offsets.get(path, 0))
                    text = log.read().decode("utf-8", errors="replace")
            except OSError:
                continue
            lines += text.splitlines()[-_LOG_TAIL_LINES:]
        return "\n".join(lines)


@contextmanager
def local_kafka(settings: LocalKafkaSettings, *, fresh: bool = False) -> Iterator[RunningBroker]:
    """A broker for the block: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a local one.

    A local broker started here is stopped on exit; one that was already serving (started
    by ``local-kafka start``) is left running, since it is not ours to stop.
    """
    if settings.bootstrap_servers:
        yield RunningBroker(
            bootstrap_servers=settings.bootstrap_servers, external=True, started_here=False
        )
        return
    kafka = LocalKafka(settings)
    broker = kafka.start(fresh=fresh)
    try:
        yield broker
    finally:
        if broker.started_here:
            kafka.stop()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux SIGTERM the broker when we die, even by SIGKILL."""
    if sys.platform != "linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_parent_death_signal
