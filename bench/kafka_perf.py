"""The broker's own ceiling on this machine: Kafka's producer and consumer perf tools.

``org.apache.kafka.tools.ProducerPerformance`` and ``ConsumerPerformance``, from the Kafka
release the broker runs (resolved from Maven Central like the broker, ``kafka-tools`` and
its dependencies), run with ``java -cp`` against the bench's broker, with records of the raw
records' size, on a topic made like the raw topic. Three figures, the physical limit the
Python figures are read against:

- **produce, idempotent**: ``acks=all``, idempotence on, as fast as the broker takes them;
- **produce, transactions**: the same, in a transaction every commit interval (0.5 s), as
  an exactly-once pipeline writes;
- **consume**: reading those records back (``fetch.nMsg.sec``: from the first fetch, the
  group's join left out).

The tools print one summary line each, parsed here (``parse_producer``, ``parse_consumer``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.exceptions import BenchError
from bench.pipeline_config import bounded
from bench.pipeline_kafka import create_topics
from bench.runs import bench_run
from localkafka import LocalKafkaSettings
from localkafka.maven import MavenRequest, resolve_jars
from localkafka.toolchain import find_java
from schemas.topics import RAW_EVENTS

logger = logging.getLogger(__name__)

_POM = Path(__file__).with_name("kafka_tools_pom.xml")
_PRODUCER = "org.apache.kafka.tools.ProducerPerformance"
_CONSUMER = "org.apache.kafka.tools.ConsumerPerformance"
#: ProducerPerformance's last line, e.g. ``20000 records sent, 30722.0 records/sec (26.08
#: MB/sec), 130.07 ms avg latency, 241.00 ms max latency, 133 ms 50th, 178 ms 95th, 194 ms
#: 99th, 199 ms 99.9th.``
_PRODUCER_LINE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99\.9th"
)


@dataclass(frozen=True, kw_only=True)
class PerfRun:
    """One run of a perf tool: records, their rate, and MB/s (the tools' MB: 2^20 bytes)."""

    records: int
    records_per_s: float
    mb_per_s: float
    #: The producer's send-to-acknowledgement p99 in ms (None for the consumer).
    p99_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class CeilingFigures:
    """Each tool's runs, repeat by repeat, and the record size they used."""

    record_bytes: int
    produce: tuple[PerfRun, ...]
    produce_transactional: tuple[PerfRun, ...]
    consume: tuple[PerfRun, ...]

    def median(self, which: str) -> float:
        """The median records/s of ``produce``, ``produce_transactional`` or ``consume``."""
        runs: tuple[PerfRun, ...] = getattr(self, which)
        return float(statistics.median(run.records_per_s for run in runs))


def parse_producer(output: str) -> PerfRun:
    """ProducerPerformance's summary (its last matching line); BenchError if none."""
    matches = list(_PRODUCER_LINE.finditer(output))
    if not matches:
        raise BenchError(
            "ProducerPerformance printed no summary line",
            hint=f"its output ends: {output[-1000:]}",
        )
    found = matches[-1]
    return PerfRun(
        records=int(found["records"]),
        records_per_s=float(found["rate"]),
        mb_per_s=float(found["mb"]),
        p99_ms=float(found["p99"]),
    )


def parse_consumer(output: str) -> PerfRun:
    """ConsumerPerformance's CSV summary (a header line, then one line of figures), its
    rates from the first fetch (``fetch.*``), the group's join left out."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    header_at = next((n for n, line in enumerate(lines) if line.startswith("start.time,")), None)
    if header_at is None or header_at + 1 >= len(lines):
        raise BenchError(
            "ConsumerPerformance printed no summary",
            hint=f"its output ends: {output[-1000:]}",
        )
    names = [name.strip() for name in lines[header_at].split(",")]
    values = dict(
        zip(names, (value.strip() for value in lines[header_at + 1].split(",")), strict=False)
    )
    try:
        return PerfRun(
            records=int(values["data.consumed.in.nMsg"]),
            records_per_s=float(values["fetch.nMsg.sec"]),
            mb_per_s=float(values["fetch.MB.sec"]),
        )
    except (KeyError, ValueError) as error:
        raise BenchError(
            f"ConsumerPerformance's summary has no {error}", hint=f"its output: {output[-1000:]}"
        ) from error


def tools_classpath(kafka_version: str) -> str:
    """``java -cp`` for Kafka's tools of ``kafka_version``, resolved with Maven once."""
    settings = LocalKafkaSettings()
    request = MavenRequest(
        folder=f"kafka-tools-{kafka_version}",
        pom=_POM.read_text(encoding="utf-8"),
        properties={"kafka.version": kafka_version},
        expected_jar="kafka-tools-[0-9]*.jar",
        coordinates=f"org.apache.kafka:kafka-tools:{kafka_version}",
        not_found_hint="the broker's Kafka version should have published tools; check it",
    )
    libs = resolve_jars(
        request,
        cache_dir=settings.resolved_cache_dir,
        maven_settings=settings.maven_settings,
        timeout_s=settings.maven_timeout_s,
    )
    return str(libs / "*")


async def run_ceiling_bench(
    bootstrap_servers: str,
    *,
    kafka_version: str,
    records: int,
    record_bytes: int,
    partitions: int,
    repeat: int,
    commit_interval_s: float,
    timeout_s: float,
) -> CeilingFigures:
    """Each tool ``repeat`` times, on a fresh topic per repeat, deleted at the end."""
    java = str(find_java().executable)
    classpath = await asyncio.to_thread(tools_classpath, kafka_version)
    tag = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    found: dict[str, list[PerfRun]] = {"produce": [], "transactional": [], "consume": []}
    async with bench_run(bootstrap_servers, tag=tag, what="the broker ceiling"):
        for n in range(repeat):
            prefix = f"{tag}-{n}"
            topic = RAW_EVENTS.name(prefix)
            async with bounded(f"the broker ceiling, repeat {n + 1}", timeout_s):
                await create_topics(bootstrap_servers, prefix=prefix, partitions=partitions)
                common = (
                    "--topic", topic, "--num-records", str(records),
                    "--record-size", str(record_bytes), "--throughput", "-1",
                )  # fmt: skip
                props = ("--producer-props", f"bootstrap.servers={bootstrap_servers}",
                         "acks=all", "enable.idempotence=true")  # fmt: skip
                output = await _java(java, classpath, _PRODUCER, *common, *props)
                found["produce"].append(parse_producer(output))
                transactions = (
                    "--transactional-id", f"{prefix}-perf",
                    "--transaction-duration-ms", str(round(commit_interval_s * 1000)),
                )  # fmt: skip
                output = await _java(java, classpath, _PRODUCER, *common, *props, *transactions)
                found["transactional"].append(parse_producer(output))
                output = await _java(
                    java, classpath, _CONSUMER,
                    "--bootstrap-server", bootstrap_servers, "--topic", topic,
                    "--messages", str(records), "--group", f"{prefix}-perf",
                    "--timeout", str(round(timeout_s * 1000)),
                )  # fmt: skip
                found["consume"].append(parse_consumer(output))
            logger.info(
                "broker ceiling, repeat %d: produce %.0f, transactional %.0f, consume %.0f "
                "records/s",
                n + 1,
                found["produce"][-1].records_per_s,
                found["transactional"][-1].records_per_s,
                found["consume"][-1].records_per_s,
            )
    return CeilingFigures(
        record_bytes=record_bytes,
        produce=tuple(found["produce"]),
        produce_transactional=tuple(found["transactional"]),
        consume=tuple(found["consume"]),
    )


async def _java(java: str, classpath: str, main: str, *args: str) -> str:
    """Run a tool to its end; its stdout, or BenchError with its output if it failed."""
    process = await asyncio.create_subprocess_exec(
        java, "-cp", classpath, main, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await process.communicate()
    finally:
        if process.returncode is None:  # cancelled: the step overran
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise BenchError(
            f"{main.rsplit('.', 1)[-1]} exited with {process.returncode}: {text[-1500:]}",
            hint="read the broker's log; the tool's arguments are in bench/kafka_perf.py",
        )
    return text
