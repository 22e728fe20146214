"""A short chaos run in every ``make test``: the pipeline on a local 3-node cluster, every kind
of kill (in two pairs: a poller with a partition leader, a worker with another) and every
Clever fault once, checked from outside (``tests/chaos``; ``make chaos``
is the long run). Its seed is random and printed: ``make chaos SEED=<seed>`` runs it again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest
from rich.console import Console

from localkafka import LocalKafkaSettings
from localkafka.cluster import LocalKafkaCluster
from tests.chaos.report import print_report
from tests.chaos.run import ChaosConfig, run_chaos

pytestmark = pytest.mark.e2e


def test_a_short_chaos_run_loses_doubles_and_reorders_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or secrets.randbelow(1_000_000))
    print(f"chaos seed {seed}")  # noqa: T201 - pytest shows it with a failure
    config = ChaosConfig(
        seed=seed,
        folder=tmp_path / "logs",
        events=1_000,
        districts=4,
        contacts=100,
        rate=40.0,
        kills=2,
        kills_in_pairs=True,
        faults=6,
        probes=0,
        max_pause_s=2.0,
        max_gap_s=2.0,
        time_faults=False,
        catch_up_timeout_s=120.0,
    )
    cluster = LocalKafkaCluster(LocalKafkaSettings(state_dir=tmp_path / "cluster", nodes=3))
    running = cluster.start()
    try:
        report = asyncio.run(run_chaos(config, cluster, running))
    finally:
        cluster.stop()
    print_report(Console(width=120), report)

    assert report.failures() == [], f"seed {seed}: {report.failures()}"
    kinds = {kind for action in report.plan for kind in action.kills}
    assert kinds == {"poller", "worker", "raw_leader", "changes_leader"}
    assert {action.fault for action in report.plan if action.fault} == {
        "rate_limit_storm", "server_errors", "timeouts", "truncated", "expired_cursor",
        "redelivered",
    }  # fmt: skip
    assert report.verdict.clever_events >= config.events
