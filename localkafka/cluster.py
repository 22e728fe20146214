"""A local KRaft cluster: N nodes on loopback, each a broker and a controller in one JVM.

Each node is a :class:`LocalKafka` of its own state folder (``node-<id>`` inside the
cluster's), so it is started, recognised after a crash, stopped and killed as a single broker
is. The cluster's folder remembers the cluster ID and every node's ports (``cluster.json``):
the controller quorum names each node's controller port, and a restarted node must come back
where its peers and clients expect it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localkafka.broker import BrokerStatus, LocalKafka, RunningBroker
from localkafka.config import ClusterNode, new_cluster_id
from localkafka.exceptions import BrokerStartError
from localkafka.filelock import file_lock
from localkafka.ports import free_port, port_is_free
from localkafka.probe import probe
from localkafka.settings import LocalKafkaSettings

logger = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class ClusterPlan:
    """What every start of the cluster reuses: its ID and each node's (broker, controller)
    ports, node 1 first."""

    cluster_id: str
    ports: tuple[tuple[int, int], ...]

    def voters(self, host: str) -> str:
        """``controller.quorum.voters``: each node's controller."""
        return ",".join(
            f"{node_id}@{host}:{controller}"
            for node_id, (_, controller) in enumerate(self.ports, start=1)
        )


@dataclass(frozen=True)
class RunningCluster:
    """A cluster clients can use, and its nodes by ID."""

    bootstrap_servers: str
    nodes: dict[int, RunningBroker]
    started_here: bool

    def node_of(self, host_port: str) -> int:
        """The ID of the node that listens at ``host:port``."""
        for node_id, broker in self.nodes.items():
            if broker.bootstrap_servers == host_port:
                return node_id
        raise KeyError(host_port)


class LocalKafkaCluster:
    """The cluster of one state folder: ``settings.nodes`` nodes, plaintext."""

    def __init__(self, settings: LocalKafkaSettings) -> None:
        if settings.security != "plaintext":
            raise BrokerStartError(
                "a local cluster has plaintext listeners only",
                hint="start it without --security, or a single sasl_ssl broker without --nodes",
            )
        self._settings = settings
        self.state_dir = settings.resolved_state_dir
        self.size = settings.nodes

    @property
    def _plan_file(self) -> Path:
        return self.state_dir / "cluster.json"

    def node_ids(self) -> range:
        """The nodes' IDs: 1 to N."""
        return range(1, self.size + 1)

    def node(self, node_id: int) -> LocalKafka:
        """Node ``node_id`` (1 to N), as the broker of its own state folder."""
        plan = self._read_plan()
        if plan is None:
            raise BrokerStartError(
                f"no cluster was ever started from {self.state_dir}", hint="start it first"
            )
        return self._node(plan, node_id)

    def start(self, *, detached: bool = False, fresh: bool = False) -> RunningCluster:
        """Start every node, or return the cluster already serving from this folder.

        As :meth:`LocalKafka.start`: ``detached`` outlives this process, ``fresh`` deletes
        earlier data. Returns once every node serves and sees all N brokers.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(
            self.state_dir / ".lock",
            timeout_s=self._settings.lock_timeout_s,
            purpose="cluster start",
        ):
            plan = self._read_plan()
            if plan is not None and not fresh and self._serving(plan):
                logger.info("reusing the %d-node cluster of %s", self.size, self.state_dir)
                return self._running(plan, started_here=False)
            if plan is not None:
                self._stop_nodes(plan)
            if fresh:
                for node_id in self.node_ids():
                    shutil.rmtree(self.state_dir / f"node-{node_id}", ignore_errors=True)
            plan = self._new_plan(None if fresh else plan)
            started = time.monotonic()
            nodes = [self._node(plan, node_id) for node_id in self.node_ids()]
            try:
                for node in nodes:
                    node.start(detached=detached, wait=False)
                for node in nodes:
                    node.wait_until_serving()
                self._wait_until_complete(plan)
            except BaseException:
                self._stop_nodes(plan)
                raise
            logger.info("%d-node cluster ready in %.1fs", self.size, time.monotonic() - started)
            return self._running(plan, started_here=True)

    def stop(self) -> bool:
        """Stop every node at once; True if one ran.

        All at once: a node stopped after its peers has no quorum left to leave cleanly
        through, and would wait out the whole stop timeout.
        """
        plan = self._read_plan()
        if plan is None:
            return False
        return self._stop_nodes(plan)

    def _stop_nodes(self, plan: ClusterPlan) -> bool:
        nodes = [self._node(plan, node_id) for node_id in self.node_ids()]
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return any(pool.map(LocalKafka.stop, nodes))

    def status(self) -> list[BrokerStatus]:
        """Each node's status, node 1 first (empty if the cluster was never started)."""
        plan = self._read_plan()
        if plan is None:
            return []
        return [self._node(plan, node_id).status() for node_id in self.node_ids()]

    def kill(self, node_id: int) -> bool:
        """SIGKILL node ``node_id``, as a crash would; True if it ran."""
        return self.node(node_id).kill()

    def restart(self, node_id: int, *, detached: bool = False) -> RunningBroker:
        """Start node ``node_id`` again on its ports and data, and wait until it serves."""
        plan = self._read_plan()
        if plan is None:
            raise BrokerStartError(
                f"no cluster was ever started from {self.state_dir}", hint="start it first"
            )
        return self._node(plan, node_id).start(detached=detached)

    # -- the plan ---------------------------------------------------------------------------

    def _node(self, plan: ClusterPlan, node_id: int) -> LocalKafka:
        if node_id not in self.node_ids():
            raise BrokerStartError(
                f"the cluster has nodes 1 to {self.size}, not {node_id}", hint="name one of them"
            )
        broker_port, controller_port = plan.ports[node_id - 1]
        settings = self._settings.model_copy(
            update={
                "state_dir": self.state_dir / f"node-{node_id}",
                "port": broker_port,
                "controller_port": controller_port,
                "nodes": 1,
            }
        )
        voters = plan.voters(self._settings.host)
        return LocalKafka(settings, node=ClusterNode(node_id, voters), cluster_id=plan.cluster_id)

    def _read_plan(self) -> ClusterPlan | None:
        try:
            found = json.loads(self._plan_file.read_text(encoding="utf-8"))
            ports = tuple((int(b), int(c)) for b, c in found["ports"])
            plan = ClusterPlan(str(found["cluster_id"]), ports)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return plan if len(plan.ports) == self.size else None

    def _new_plan(self, earlier: ClusterPlan | None) -> ClusterPlan:
        """The earlier plan if all its ports are free (clients find the cluster again);
        else the earlier cluster ID with new free ports, or all new."""
        host = self._settings.host
        if earlier is not None and all(
            port_is_free(host, port) for pair in earlier.ports for port in pair
        ):
            plan = earlier
        else:
            chosen: list[int] = []
            for _ in range(2 * self.size):
                chosen.append(free_port(host, avoid=chosen))
            plan = ClusterPlan(
                earlier.cluster_id if earlier else new_cluster_id(),
                tuple((chosen[2 * i], chosen[2 * i + 1]) for i in range(self.size)),
            )
        self._plan_file.write_text(
            json.dumps({"cluster_id": plan.cluster_id, "ports": [list(p) for p in plan.ports]})
            + "\n",
            encoding="utf-8",
        )
        return plan

    # -- readiness --------------------------------------------------------------------------

    def _serving(self, plan: ClusterPlan) -> bool:
        """Every node answers and lists every broker."""
        host = self._settings.host
        for broker_port, _ in plan.ports:
            view = probe(host, broker_port)
            if view is None or len(view.brokers) < self.size:
                return False
        return True

    def _wait_until_complete(self, plan: ClusterPlan) -> None:
        """Wait until every node lists all N brokers: until then a topic of replication
        factor N cannot be created."""
        deadline = time.monotonic() + self._settings.start_timeout_s
        while not self._serving(plan):
            if time.monotonic() >= deadline:
                raise BrokerStartError(
                    f"the {self.size} nodes did not all see each other within "
                    f"{self._settings.start_timeout_s:.0f}s",
                    hint=f"read the nodes' logs in {self.state_dir}/node-*/logs",
                )
            time.sleep(_POLL_INTERVAL_S)

    def _running(self, plan: ClusterPlan, *, started_here: bool) -> RunningCluster:
        host = self._settings.host
        nodes = {
            node_id: self._node(plan, node_id).running_view(started_here=started_here)
            for node_id in self.node_ids()
        }
        return RunningCluster(
            bootstrap_servers=",".join(f"{host}:{port}" for port, _ in plan.ports),
            nodes=nodes,
            started_here=started_here,
        )


@contextmanager
def local_cluster(settings: LocalKafkaSettings, *, fresh: bool = False) -> Iterator[RunningCluster]:
    """A cluster of ``settings.nodes`` nodes for the block, stopped on exit if started here."""
    cluster = LocalKafkaCluster(settings)
    running = cluster.start(fresh=fresh)
    try:
        yield running
    finally:
        if running.started_here:
            cluster.stop()
