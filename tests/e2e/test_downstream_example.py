"""The documented downstream bootstrap (examples/downstream_bootstrap.py) gives Clever's truth.

It shares no code with the pipeline: it reads the state topic, then the changes since, with
aiokafka, fastavro and the released schemas; run as a user runs it, against a live
deployment while Clever keeps changing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeclever import FakeClever
from tests.e2e.deployment import live_deployment
from tests.integration.streams.worker_harness import converge

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "downstream_bootstrap.py"


def run_example(
    bootstrap_servers: str, prefix: str, *, env: dict[str, str] | None = None
) -> dict[str, list[list[str | None]]]:
    """The example's output, run with ``env`` (by default, this process's environment)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--bootstrap-servers", bootstrap_servers,
         "--prefix", prefix, "--follow-seconds", "1"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, list[list[str | None]]] = json.loads(done.stdout)
    return found


async def test_the_downstream_bootstrap_example_reaches_clevers_truth(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=61, contacts=25)
    prefix = unique_name("downstream")
    async with live_deployment(bootstrap_servers, prefix, fake, district, tmp_path):
        district.random_changes(25, seed=2)
        await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)
        found = run_example(bootstrap_servers, prefix)

    assert set(found) == {district.id}
    assert {tuple(pair) for pair in found[district.id]} == district.ground_truth()
