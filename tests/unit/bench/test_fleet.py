"""The fleet benchmark's pure parts: /proc and /metrics parsing, goals, the report section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.fleet import poller_intervals, write_districts
from bench.fleet_figures import (
    SECTION_END,
    SECTION_START,
    FleetFigures,
    busy_latencies,
    busy_stretches,
    fleet_section,
    fleet_table,
    goal_rows,
    replace_section,
    section_of,
)
from bench.proc_stats import broker_ports, metric_value, socket_inodes, tcp_connections

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8B4A 0100007F:2384 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1
   1: 0100007F:8B4B 0100007F:2384 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1
   2: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4444 1
   3: 0100007F:8B4C 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4545 1
"""


def test_established_connections_are_read_with_remote_port_and_inode() -> None:
    assert tcp_connections(TCP) == [(0x2384, 4242), (0x2384, 4343), (0x1F90, 4545)]
    assert tcp_connections("heading only\n") == []


def test_socket_inodes_come_from_the_descriptors_link_targets() -> None:
    links = ["socket:[4242]", "/dev/null", "pipe:[7]", "socket:[4545]", "anon_inode:[eventfd]"]
    assert socket_inodes(links) == {4242, 4545}


def test_broker_ports_of_a_bootstrap_list() -> None:
    assert broker_ports("127.0.0.1:9092,[::1]:9093") == {9092, 9093}


def test_a_metric_sums_its_label_sets_and_is_nan_when_absent() -> None:
    exposition = "\n".join([
        "# HELP clever_poller_tasks asyncio tasks",
        "# TYPE clever_poller_tasks gauge",
        "clever_poller_tasks 57.0",
        'clever_poller_shards_owned{instance="a"} 2.0',
        'clever_poller_shards_owned{instance="b"} 1.0',
        "clever_poller_tasks_created_total 3.0",
    ])  # fmt: skip
    assert metric_value(exposition, "clever_poller_tasks") == 57.0
    assert metric_value(exposition, "clever_poller_shards_owned") == 3.0
    assert math.isnan(metric_value(exposition, "clever_poller_districts_owned"))
    assert math.isnan(metric_value("", "clever_poller_tasks"))


def figures(**changes: object) -> FleetFigures:
    base: dict[str, object] = {
        "districts": 1000, "brokers": 1, "poll_interval_s": 5.0, "idle_interval_s": 60.0,
        "ready_s": 12.0, "rss_mib": 300.0, "threads": 9, "descriptors": 40,
        "kafka_connections": 29, "shards_owned": 12.0, "idle_cpu_share": 0.05,
        "busy_ms": (100.0, 2000.0, 5500.0),
        "idle_first_s": (20.0, 59.0), "big_contacts": 1_000_000, "big_records": 1_500_002,
        "big_sync_s": 100.0, "peak_rss_mib": 700.0, "busiest_minute": 900,
    }  # fmt: skip
    base.update(changes)
    return FleetFigures(**base)  # type: ignore[arg-type]  # the test's keyword bag


def verdicts(found: FleetFigures) -> dict[str, str]:
    return {figure.split(":")[0].split(",")[0]: verdict for figure, _, _, verdict in
            goal_rows(found) if verdict}  # fmt: skip


def test_every_goal_met_reads_met() -> None:
    found = verdicts(figures())
    assert set(found.values()) == {"met"}
    assert len(found) == 6
    assert figures().big_records_per_s == 15_000.02


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({"peak_rss_mib": 1100.0}, "RSS"),
        ({"kafka_connections": 400}, "Kafka connections (idle)"),
        ({"busy_ms": (100.0, 6500.0)}, "busy districts"),
        ({"busy_ms": (100.0, math.inf)}, "busy districts"),
        ({"idle_first_s": (61.0,)}, "idle districts"),
        ({"busiest_minute": 1201}, "requests per minute per token"),
        ({"overlapping": 1}, "districts polled by two pollers at once"),
    ],
    ids=["rss", "connections", "p99", "unpublished", "idle", "rate", "overlap"],
)
def test_each_goal_missed_reads_missed(changes: dict[str, object], missed: str) -> None:
    found = verdicts(figures(**changes))
    assert [name for name, verdict in found.items() if verdict == "missed"] == [missed]


def test_figures_not_measured_read_n_a() -> None:
    rows = {row[0]: row for row in goal_rows(figures(busy_ms=(), big_sync_s=math.nan))}
    busy = next(row for name, row in rows.items() if name.startswith("busy"))
    assert busy[1:] == ("n/a / n/a", "p99 <= 6,000 (poll interval + 1 s)", "n/a")
    big = next(row for name, row in rows.items() if name.startswith("big"))
    assert big[1] == "not completed (1,500,002 records seen)"
    assert rows["asyncio tasks"][1] == "n/a"


PAGE = "# Performance\n\nintro\n\n## Goals\n\n| a |\n"


def test_the_section_is_appended_once_then_replaced_in_place() -> None:
    first = replace_section(PAGE, "## Fleet\n\none")
    assert first.startswith(PAGE.rstrip())
    assert first.endswith(f"{SECTION_START}\n## Fleet\n\none\n{SECTION_END}\n")
    tail = "\n\n## After\n"
    second = replace_section(first + tail, "## Fleet\n\ntwo\n")
    assert second == first.replace("one", "two") + tail
    assert section_of(second) == f"{SECTION_START}\n## Fleet\n\ntwo\n{SECTION_END}"
    assert section_of(PAGE) is None


def test_the_section_holds_each_table_as_markdown() -> None:
    section = fleet_section([fleet_table(figures())], command="python -m bench", when="today")
    assert section.startswith("## Fleet\n")
    assert "### Fleet: one poller, 1,000 districts" in section
    assert "| RSS, idle / peak during the big sync (MiB) | 300 / 700 | <= 1,024 | met |" in section


def test_the_districts_file_is_the_pollers_list(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    write_districts(path, [{"id": "d1", "token": "t1", "busy": True}])
    assert json.loads(path.read_text()) == [{"token": "t1", "district_id": "d1"}]
    assert [p.name for p in tmp_path.iterdir()] == ["districts.json"]


def test_the_goals_use_the_pollers_documented_intervals() -> None:
    poll, idle = poller_intervals()
    assert 0 < poll <= idle


def test_busy_events_are_timed_once_their_district_was_found_busy() -> None:
    created = {
        "e1": ("d1", 100.0),  # its district's first: waited for the idle poll, not timed
        "e2": ("d1", 130.0),
        "e3": ("d1", 135.0),  # never read: the slowest of all
        "e4": ("d1", 200.0),  # after the stretch
        "e5": ("d2", 110.0),  # its district's only event: its first, not timed
        "e7": ("d2", 111.0),
        "e6": ("d3", 120.0),  # its district never found busy: nothing of it is timed
    }
    seen = {"e1": 125.0, "e2": 131.5, "e4": 203.0, "e5": 110.25, "e7": 111.25}
    assert busy_latencies(created, seen, end=190.0) == [250.0, 1500.0, math.inf]
    fetched = {"e1": 124.0, "e2": 131.0, "e4": 202.0, "e5": 110.0, "e7": 111.0}
    # e2 and e7 timed and read: their waits (created -> fetched) and publishes (-> readable).
    assert busy_stretches(created, seen, fetched, end=190.0) == ([0.0, 1000.0], [250.0, 500.0])
