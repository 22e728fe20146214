"""--only peers' tables and pictures from made-up figures: every goal gets its verdict."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console

from bench.kafka_perf import CeilingFigures, PerfRun
from bench.peer_outputs import OutputCheck
from bench.peer_tables import goal_rows, latency_table, scaling_table, throughput_table
from bench.peers import PeersFigures
from bench.pipeline import LatencyFigures
from bench.pipeline_config import PipelineBenchConfig
from bench.pipeline_throughput import GroupRun, ThroughputFigures
from bench.plots import latency_plot, throughput_plot
from bench.replay_rate import ReplayFigures
from bench.scaling import ScalingRun, cpu_ticks
from bench.state_per_contact import ContactStateFigures


def runs(*rates: float) -> tuple[GroupRun, ...]:
    return tuple(
        GroupRun(events=int(rate), seconds=1.0, startup_s=1.0, cpu_s=0.1) for rate in rates
    )


def latency(rate: float, p99: float, *, missing: int = 0) -> LatencyFigures:
    timed = [10.0] * 98 + [p99, p99]
    return LatencyFigures(
        commit_interval_s=0.1, target_rate=rate, send_rate=rate, seen_rate=rate,
        missing=missing, drain_s=11.0, from_send_ms=tuple(timed), from_ack_ms=tuple(timed),
        worker_cpu_share=0.5,
    )  # fmt: skip


def perf(rate: float) -> tuple[PerfRun, ...]:
    return (PerfRun(records=1000, records_per_s=rate, mb_per_s=rate / 1000, p99_ms=5.0),)


FIGURES = PeersFigures(
    ceiling=CeilingFigures(
        record_bytes=890, produce=perf(30_000), produce_transactional=perf(25_000),
        consume=perf(100_000),
    ),
    checks=[OutputCheck(contender="native", changes=3, states=3, tombstones=0, dead_letters=0,
                        duplicates=0, same_changes=True)],
    throughput=ThroughputFigures(
        events=30_000, record_bytes=890.0, baseline=runs(10_000, 12_000),
        writer_baseline=runs(12_000, 13_000), processor_baseline=runs(7_000, 8_000),
        pipeline=runs(6_000, 6_600), faust=runs(500, 550), quix=runs(8_000, 6_000),
    ),
    latency=(latency(100, 90.0), latency(1000, 180.0)),
    ladder=(latency(1500, 300.0), latency(2300, math.inf, missing=2)),
    replay=ReplayFigures(records=30_000, wall_s=5.0, steady=runs(8_000)[0]),
    scaling=[
        ScalingRun(workers=1, partitions=6, run=runs(6_000)[0], cores_busy=0.95),
        ScalingRun(workers=2, partitions=6, run=runs(7_200)[0], cores_busy=1.0),
    ],
    state=ContactStateFigures(contacts=100, records=150, keys=400, encoded_bytes=60_000,
                              memory_bytes=100_000, rocksdb_bytes=15_000),
)  # fmt: skip


def test_every_goal_has_a_verdict_and_a_way_to_pass_it() -> None:
    rows = {
        goal: (figure, verdict, to_pass) for goal, figure, verdict, to_pass in goal_rows(FIGURES)
    }

    assert rows["worker ahead of Faust on the same job"][1] == "met"
    quix = rows["worker ahead of Quix Streams on the same job"]
    # Repeat by repeat 0.75 and 1.1: median 0.925, Quix ahead by 1.08x.
    assert quix[1] == "missed: Quix Streams wins by 1.08x"
    assert quix[2].startswith("1.08x the worker's rate")
    # Repeat by repeat 0.6 and 0.55.
    assert rows["worker >= 0.75 of the codec-only raw loop (a)"][:2] == ("0.57", "missed")
    assert rows["p99 <= 150 ms raw -> committed at 1,000 events/s"][1] == "missed"
    assert rows["replay >= 50,000 records/s"][:2] == ("6,000 records/s (steady 8,000)", "missed")
    not_run = rows["p99 <= poll interval + 0.5 s end to end from Clever's feed"]
    assert not_run[1] == "not measured"
    scaling = rows["2 workers >= 1.7x 1 where cores allow"]
    assert scaling[1] == "cores do not allow"
    assert "1,000 events/s per partition" in scaling[0]


def test_the_tables_show_every_contender_and_rate() -> None:
    console = Console(width=300, record=True)
    config = PipelineBenchConfig(repeat=2)
    console.print(throughput_table(FIGURES.throughput, FIGURES.ceiling, config))
    console.print(latency_table(FIGURES, config))
    console.print(scaling_table(FIGURES.scaling))
    text = console.export_text()

    assert "Quix Streams 3.28, same processor" in text
    assert "worker, Faust engine" in text
    sustained = [line.split()[-1] for line in text.splitlines() if line.strip()[:5] in
                 ("100  ", "1,000", "1,500", "2,300")]  # fmt: skip
    assert sustained == ["yes", "yes", "yes", "no"]
    assert ">11,000" in text  # unseen changes count as slower than the wait


def test_the_pictures_are_written(tmp_path: Path) -> None:
    throughput_plot(tmp_path / "t.png", FIGURES.throughput, FIGURES.ceiling)
    latency_plot(tmp_path / "l.png", [*FIGURES.latency, *FIGURES.ladder])

    for name in ("t.png", "l.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_a_cpu_line_of_proc_stat_gives_busy_and_total_ticks() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    assert cpu_ticks("cpu  100 5 50 800 20 3 2 0 7 0") == (160.0, 980.0)
