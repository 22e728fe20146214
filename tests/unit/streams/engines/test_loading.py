"""Faust is imported only when CLEVER_WORKER_ENGINE=faust asks for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]

LOAD = """
import sys
from foundation.connection import KafkaConnection
from streams.settings import WorkerSettings
from streams.engines import load_engine
import clever_stream.cli, streams.__main__, streams.service
settings = WorkerSettings(engine=sys.argv[1], data_dir=sys.argv[2])
engine = load_engine(
    settings, kafka=KafkaConnection("127.0.0.1:9"), raw_partitions=3, replicas=1
)
print(type(engine).__name__, "faust" in sys.modules)
"""


@pytest.mark.parametrize(
    ("engine", "expected"), [("native", "NativeEngine False"), ("faust", "FaustEngine True")]
)
def test_faust_is_imported_by_the_faust_engine_alone(
    engine: str, expected: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, engine, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
