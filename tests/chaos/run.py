"""One chaos run: the cluster's pipeline under the seed's plan, then the verdict."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from localkafka.cluster import LocalKafkaCluster, RunningCluster
from tests.chaos.checker import Verdict, check, read_outputs
from tests.chaos.clever import Load, ObservedClever
from tests.chaos.monitor import Monitor, Recovery
from tests.chaos.pipeline import ChaosError, Names, Supervised, pollers, workers
from tests.chaos.plan import Action, draw_plan

logger = logging.getLogger(__name__)

_CHECK_EVERY_S = 0.5


@dataclass(frozen=True)
class ChaosConfig:
    """The size and the seed of a run."""

    seed: int
    folder: Path
    events: int = 100_000
    districts: int = 20
    contacts: int = 300
    rate: float = 250.0
    kills: int = 10
    faults: int = 12
    engine: str = "native"
    partitions: int = 6
    max_pause_s: float = 5.0
    max_gap_s: float = 4.0
    probes: int = 2
    #: Cover the kill kinds with two pairs (see ``draw_plan``).
    kills_in_pairs: bool = False
    #: Wait for the catch-up after each Clever fault too, and time it; if not, the next
    #: action follows the fault at once (a shorter run, its kills' recoveries less pure).
    time_faults: bool = True
    catch_up_timeout_s: float = 300.0


@dataclass
class ChaosReport:
    """What happened and what the checker found."""

    config: ChaosConfig
    plan: list[Action]
    verdict: Verdict
    recoveries: list[Recovery]
    #: The catch-up of each action of ``plan``, in its order.
    action_recoveries: list[Recovery] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def failures(self) -> list[str]:
        """The verdict's failures, and any catch-up that never came."""
        late = [r.what for r in self.recoveries if r.done_at is None]
        return self.verdict.failures() + [f"never caught up after: {what}" for what in late]


async def run_chaos(
    config: ChaosConfig, cluster: LocalKafkaCluster, running: RunningCluster
) -> ChaosReport:
    """Serve the districts, run the pipeline, carry out the plan, drain, and check."""
    started = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    names = Names(prefix=f"chaos-{config.seed}-{tag}", app_id=f"chaos-{config.seed}-{tag}-app")
    clever = ObservedClever()
    districts = [
        clever.add_district(seed=config.seed * 1000 + n, contacts=config.contacts)
        for n in range(config.districts)
    ]
    for district in districts:
        _, made = district.create_student()  # a first event: a bookmark for the first sync
        clever.number(district, made)
    load = Load(clever, districts, config.events, config.rate, config.seed)
    plan = draw_plan(
        config.seed,
        districts=config.districts,
        kills=config.kills,
        faults=config.faults,
        max_pause_s=config.max_pause_s,
        max_gap_s=config.max_gap_s,
        probes=config.probes,
        in_pairs=config.kills_in_pairs,
    )
    timeline: list[str] = []
    measured: list[Recovery] = []
    config.folder.mkdir(parents=True, exist_ok=True)
    servers = running.bootstrap_servers
    async with clever.serve() as base_url:
        polling = pollers(
            servers, base_url, names, districts, partitions=config.partitions,
            folder=config.folder,
        )  # fmt: skip
        working = workers(
            servers, names, engine=config.engine, partitions=config.partitions,
            folder=config.folder,
        )  # fmt: skip
        everyone = [*polling, *working]
        monitor = Monitor(servers, names.raw, names.app_id, clever)
        try:
            for process in everyone:
                await process.start()
            await _until(
                lambda: clever.read_past(clever.snapshot_of_newest()),
                everyone, config.catch_up_timeout_s, "the first syncs",
            )  # fmt: skip
            monitor.start()
            first = monitor.begin("the first syncs", probe=True)
            await _until(lambda: first.done_at is not None, everyone, config.catch_up_timeout_s,
                         "the workers to take the first syncs in")  # fmt: skip
            loading = asyncio.create_task(load.run())
            rng = random.Random(config.seed)  # noqa: S311 - seeded picks, not a secret
            for action in plan:
                await _sleep_watching(action.gap_s, everyone, monitor)
                line = f"{time.monotonic() - load.started_at:7.1f}s  {action.describe()}"
                logger.info("chaos: %s", line)
                recovery = await _carry_out(
                    action, rng, load=load, monitor=monitor, polling=polling,
                    working=working, everyone=everyone, cluster=cluster, running=running,
                    names=names,
                )  # fmt: skip
                if action.fault is not None and not config.time_faults:
                    timeline.append(line)
                    continue
                await _until(
                    lambda r=recovery: r.done_at is not None, everyone,
                    config.catch_up_timeout_s, f"the pipeline to catch up after: {line}",
                )  # fmt: skip
                read = (recovery.read_at or recovery.started) - recovery.started
                timeline.append(f"{line}: caught up in {recovery.seconds:.1f}s (read {read:.1f}s)")
                measured.append(recovery)
            load.plan_done.set()
            await loading
            timeline.append(f"{time.monotonic() - load.started_at:7.1f}s  load done")
            last = monitor.begin("the end of the load", probe=True)
            await _until(lambda: last.done_at is not None, everyone, config.catch_up_timeout_s,
                         "the pipeline to catch up with the load")  # fmt: skip
            await _until(lambda: not monitor.pending(), everyone, config.catch_up_timeout_s,
                         "every recovery")  # fmt: skip
        finally:
            monitor.stop()
            await asyncio.gather(*(process.stop() for process in everyone))
    topics = [names.raw, names.changes, names.state, names.dead_letters]
    outputs = await asyncio.to_thread(read_outputs, servers, topics)
    verdict = check(
        districts,
        raw=outputs[names.raw],
        changes=outputs[names.changes],
        state=outputs[names.state],
        dead_letters=outputs[names.dead_letters],
    )
    return ChaosReport(
        config, plan, verdict, monitor.recoveries, measured, timeline, time.monotonic() - started
    )


async def _carry_out(
    action: Action,
    rng: random.Random,
    *,
    load: Load,
    monitor: Monitor,
    polling: list[Supervised],
    working: list[Supervised],
    everyone: list[Supervised],
    cluster: LocalKafkaCluster,
    running: RunningCluster,
    names: Names,
) -> Recovery:
    """Do ``action``; the catch-up timed from its start."""
    if action.probe:
        return monitor.begin("probe", probe=True)
    if action.fault is not None:
        recovery = monitor.begin(action.describe())
        load.misbehave(action.fault, load.districts[action.target])
        return recovery
    processes: list[Supervised] = []
    nodes: list[int] = []
    for kind in action.kills:
        if kind == "poller":
            processes.append(polling[action.target])
        elif kind == "worker":
            processes.append(working[action.target])
        else:
            topic = names.raw if kind == "raw_leader" else names.changes
            nodes.append(await asyncio.to_thread(_leader, running.bootstrap_servers, topic, rng))
    recovery = monitor.begin(action.describe())
    await asyncio.gather(
        *(process.kill() for process in processes),
        *(asyncio.to_thread(cluster.kill, node) for node in nodes),
    )
    await _sleep_watching(action.pause_s, [p for p in everyone if p not in processes], monitor)
    for process in processes:
        await process.start()
    for node in nodes:
        # Detached: a node started from this thread pool must not die with one of its threads.
        await asyncio.to_thread(cluster.restart, node, detached=True)
    return recovery


def _leader(bootstrap_servers: str, topic: str, rng: random.Random) -> int:
    """The node leading a random partition of ``topic``."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 2})
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
    partition = partitions[rng.choice(sorted(partitions))]
    if partition.leader < 0:
        raise ChaosError(f"{topic} partition {partition.id} has no leader to kill")
    return int(partition.leader)


async def _sleep_watching(seconds: float, processes: list[Supervised], monitor: Monitor) -> None:
    """Sleep, failing at once if a process exits by itself or the monitor fails."""
    deadline = time.monotonic() + seconds
    while True:
        for process in processes:
            process.check()
        if monitor.error is not None:
            raise ChaosError(f"the monitor failed: {monitor.error!r}")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(_CHECK_EVERY_S, left))


async def _until(
    condition: object, processes: list[Supervised], timeout_s: float, what: str
) -> None:
    """Wait until ``condition()`` holds, watching the processes."""
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise ChaosError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        for process in processes:
            process.check()
        await asyncio.sleep(_CHECK_EVERY_S)
