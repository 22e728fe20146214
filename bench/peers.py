"""``--only peers``: the worker beside its peers and the broker's own ceiling, in one run.

In order, against one broker:

1. the broker's ceiling: Kafka's own producer and consumer perf tools (``bench.kafka_perf``);
2. the output check: the worker on each engine and the Quix Streams peer over the same small
   raw topic, their outputs compared (``bench.peer_outputs``): a peer whose outputs differ
   is not timed;
3. throughput: the bare aiokafka loops, the worker (native, then Faust) and the Quix
   Streams peer over the same raw records (``bench.pipeline_throughput``);
4. latency from a raw record's append to its change committed, at each of
   ``latency_rates`` and then at rates 1.5 times apart, up from the highest while the worker
   keeps pace (or down, if it did not, until it does): the highest it sustained
   (``bench.pipeline.measure_latency``), at the worker's default commit interval;
5. end to end from Clever's feed: the fake Clever trickling, a poller and a worker as
   operators run them, each change timed from its cause event's ``created``, at each poll
   interval (``bench.end_to_end``);
6. a replay rebuild of the throughput topic (``bench.replay_rate``);
7. one worker against two on the same partitions (``bench.scaling``);
8. state bytes per contact, in memory and in RocksDB (``bench.state_per_contact``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.end_to_end import EndToEndConfig, measure_end_to_end
from bench.end_to_end_figures import EndToEndFigures
from bench.kafka_perf import CeilingFigures, run_ceiling_bench
from bench.peer_outputs import OutputCheck, check_outputs
from bench.pipeline import LatencyFigures, measure_latency
from bench.pipeline_config import PipelineBenchConfig, bounded
from bench.pipeline_kafka import GroupOffsets, create_topics, publish, topic_records
from bench.pipeline_throughput import ThroughputFigures, measure_throughput
from bench.pipeline_workload import throughput_events
from bench.replay_rate import ReplayFigures, measure_replay
from bench.runs import bench_run
from bench.scaling import ScalingRun, measure_scaling
from bench.state_per_contact import ContactStateFigures, measure_state_per_contact
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)

#: The worker's default commit interval (``CLEVER_WORKER_COMMIT_INTERVAL_S``), at which
#: latency is measured.
LATENCY_COMMIT_INTERVAL_S = 0.1
#: Each rung of the latency ladder sends this many times the rate of the one below.
LADDER_STEP = 1.5


@dataclass(frozen=True, kw_only=True)
class PeersConfig:
    """What ``--only peers`` measures beyond the pipeline benchmark's settings."""

    pipeline: PipelineBenchConfig
    #: Records each perf tool sends or reads per repeat.
    ceiling_records: int = 200_000
    #: Raw records of the scaling topic.
    scaling_events: int = 90_000
    #: Contacts of the district whose state is weighed.
    state_contacts: int = 10_000
    #: The fixed rates latency is measured at, before the ladder.
    latency_rates: tuple[float, ...] = (100.0, 1000.0)
    #: The most rungs the ladder climbs (0: no ladder).
    ladder_rungs: int = 6
    #: The end-to-end runs (no poll interval: none); their partitions and bound are the
    #: pipeline's.
    end_to_end: EndToEndConfig = field(default_factory=EndToEndConfig)
    #: The local broker's PID (its CPU is read beside the workers'), if it is ours.
    broker_pid: int | None = None
    kafka_version: str = "4.1.1"


@dataclass(frozen=True, kw_only=True)
class PeersFigures:
    """Everything ``--only peers`` measured."""

    ceiling: CeilingFigures
    checks: list[OutputCheck]
    throughput: ThroughputFigures
    latency: tuple[LatencyFigures, ...]
    #: The ladder's rungs, lowest first; the last one may be the first not sustained.
    ladder: tuple[LatencyFigures, ...]
    replay: ReplayFigures
    scaling: list[ScalingRun]
    state: ContactStateFigures
    #: End to end from Clever's feed, one per poll interval.
    end_to_end: tuple[EndToEndFigures, ...] = ()

    @property
    def highest_sustained(self) -> LatencyFigures | None:
        """The fastest rate the worker kept pace with (the ladder's or a fixed one's)."""
        sustained = [row for row in (*self.latency, *self.ladder) if row.sustained()]
        return max(sustained, key=lambda row: row.target_rate, default=None)


async def run_peers_bench(bootstrap_servers: str, config: PeersConfig) -> PeersFigures:
    """Every step above, on topics named after one tag, deleted at the end."""
    pipeline = config.pipeline
    sample = throughput_events(min(pipeline.events, 3_000), districts=5)
    record_bytes = round(sum(len(event.key) + len(event.value) for event in sample) / len(sample))
    ceiling = await run_ceiling_bench(
        bootstrap_servers,
        kafka_version=config.kafka_version,
        records=config.ceiling_records,
        record_bytes=record_bytes,
        partitions=pipeline.partitions,
        repeat=pipeline.repeat,
        commit_interval_s=pipeline.commit_interval_s,
        timeout_s=pipeline.timeout_s,
    )
    tag = f"bench-peers-{uuid.uuid4().hex[:8]}"
    async with bench_run(bootstrap_servers, tag=tag, what="the peers benchmark") as run:
        folder, offsets = run
        checks = await check_outputs(
            bootstrap_servers, pipeline, tag=tag, folder=folder, offsets=offsets
        )
        throughput = await measure_throughput(
            bootstrap_servers, pipeline, tag=tag, folder=folder, offsets=offsets
        )
        latency = []
        for n, rate in enumerate(config.latency_rates):
            figures = await measure_latency(
                bootstrap_servers, pipeline, interval=LATENCY_COMMIT_INTERVAL_S, rate=rate,
                prefix=f"{tag}-l{n}", folder=folder, offsets=offsets,
            )  # fmt: skip
            latency.append(figures)
        ceiling_rate = max(run.rate for run in throughput.pipeline) * 1.1
        top = max(latency, key=lambda row: row.target_rate, default=None)
        ladder = await _ladder(
            bootstrap_servers, config, top=top, most=ceiling_rate,
            least=min(config.latency_rates, default=0.0), tag=tag, folder=folder,
            offsets=offsets,
        )  # fmt: skip
        end_to_end_config = replace(
            config.end_to_end, partitions=pipeline.partitions, timeout_s=pipeline.timeout_s
        )
        end_to_end = await measure_end_to_end(
            bootstrap_servers, end_to_end_config, tag=tag, folder=folder, offsets=offsets
        )
        raw_prefix = f"{tag}-t"  # the throughput topic's, as measure_throughput names it
        raw_records = await topic_records(
            bootstrap_servers, RAW_EVENTS.name(raw_prefix), partitions=pipeline.partitions,
            timeout_s=pipeline.timeout_s,
        )  # fmt: skip
        replay = await measure_replay(
            bootstrap_servers, pipeline, raw_prefix=raw_prefix, records=raw_records,
            to_prefix=f"{tag}-r", folder=folder, offsets=offsets,
        )  # fmt: skip
        scaling_prefix = f"{tag}-s"
        events = throughput_events(config.scaling_events, districts=pipeline.districts * 3)
        async with bounded("publishing the scaling topic", pipeline.timeout_s):
            for prefix in (scaling_prefix, f"{tag}-xo"):
                await create_topics(
                    bootstrap_servers, prefix=prefix, partitions=pipeline.partitions
                )
            await publish(
                bootstrap_servers, RAW_EVENTS.name(scaling_prefix), events,
                page_size=pipeline.page_size,
            )  # fmt: skip
            scaling_records = await topic_records(
                bootstrap_servers, RAW_EVENTS.name(scaling_prefix),
                partitions=pipeline.partitions, timeout_s=pipeline.timeout_s,
            )  # fmt: skip
        scaling = await measure_scaling(
            bootstrap_servers, pipeline, raw_prefix=scaling_prefix, records=scaling_records,
            counts=(1, 2), tag=tag, folder=folder, offsets=offsets, broker_pid=config.broker_pid,
        )  # fmt: skip
    state = measure_state_per_contact(config.state_contacts)
    return PeersFigures(
        ceiling=ceiling,
        checks=checks,
        throughput=throughput,
        latency=tuple(latency),
        ladder=ladder,
        replay=replay,
        scaling=scaling,
        state=state,
        end_to_end=end_to_end,
    )


async def _ladder(
    bootstrap_servers: str,
    config: PeersConfig,
    *,
    top: LatencyFigures | None,
    most: float,
    least: float,
    tag: str,
    folder: Path,
    offsets: GroupOffsets,
) -> tuple[LatencyFigures, ...]:
    """Latency at rates a step of ``LADDER_STEP`` apart from the highest fixed rate ``top``:
    up while each is sustained (to ``most``, a little over the worker's throughput, and while
    the benchmark's own sender keeps the rate), or, if ``top`` was not, down until one is
    (to ``least``, the lowest fixed rate, measured already)."""
    if top is None:
        return ()
    rising = top.sustained()
    rungs: list[LatencyFigures] = []
    rate = top.target_rate * LADDER_STEP if rising else top.target_rate / LADDER_STEP
    while len(rungs) < config.ladder_rungs and (rate <= most if rising else rate > least):
        rung = await measure_latency(
            bootstrap_servers, config.pipeline, interval=LATENCY_COMMIT_INTERVAL_S,
            rate=round(rate, -1), prefix=f"{tag}-m{len(rungs)}", folder=folder, offsets=offsets,
        )  # fmt: skip
        rungs.append(rung)
        if rising and (not rung.sustained() or not rung.sender_kept_pace):
            break
        if not rising and rung.sustained():
            break
        rate = rate * LADDER_STEP if rising else rate / LADDER_STEP
    return tuple(rungs)
