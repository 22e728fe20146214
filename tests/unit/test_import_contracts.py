"""pyproject.toml's import contracts: a deliberate wrong import breaks them; the tree keeps them.

Each case copies the packages to a temporary directory, adds one module importing what it
must not, and runs ``lint-imports`` there; the same contract on the real tree shows that the
added module, not the tree, broke it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
_PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_CONFIG = _PYPROJECT["tool"]["importlinter"]
PACKAGES: tuple[str, ...] = tuple(_CONFIG["root_packages"])
#: Contract id -> name, as lint-imports reports it.
CONTRACTS: dict[str, str] = {c["id"]: c["name"] for c in _CONFIG["contracts"]}


def _lint(tree: Path, *contract_ids: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``tree``, limited to ``contract_ids``."""
    # Wide columns: each contract's name and verdict on one line, chains unwrapped.
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "500"}
    limits = [f"--contract={contract_id}" for contract_id in contract_ids]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *limits, str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _verdicts(report: str) -> dict[str, str]:
    """Contract id -> KEPT or BROKEN, from a report."""
    lines = set(report.splitlines())
    return {
        contract_id: verdict
        for contract_id, name in CONTRACTS.items()
        for verdict in ("KEPT", "BROKEN")
        if f"{name} {verdict}" in lines
    }


@pytest.fixture(scope="module")
def real_tree() -> subprocess.CompletedProcess[str]:
    return _lint(ROOT)


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied: a tree a test may break."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("contract_id", "modules", "reported"),
    [
        pytest.param(
            "layers",
            {"foundation/upward.py": "import clever_stream\n"},
            "foundation.upward -> clever_stream",
            id="foundation-imports-the-app-shell",
        ),
        pytest.param(
            "layers",
            {"connectors/sideways.py": "from streams import topics\n"},
            "connectors.sideways -> streams.topics",
            id="connectors-import-streams",
        ),
        pytest.param(
            "streams-layers",
            {"streams/core/upward.py": "import streams.processor.process\n"},
            "streams.core.upward -> streams.processor.process",
            id="core-imports-the-processor",
        ),
        pytest.param(
            "tools-stand-alone",
            {"fakeclever/upward.py": "import connectors\n"},
            "fakeclever.upward -> connectors",
            id="fakeclever-imports-connectors",
        ),
        pytest.param(
            "bench-unimported",
            {"schemas/bench_user.py": "import bench\n"},
            "schemas.bench_user -> bench",
            id="schemas-import-bench",
        ),
        pytest.param(
            "faust-only-in-engine",
            {"streams/core/loud.py": "import faust\n"},
            "streams.core.loud -> faust",
            id="core-imports-faust",
        ),
        pytest.param(
            "faust-never-loaded",
            {"connectors/slow_start.py": "from streams.engines.faust import worker\n"},
            "connectors.slow_start -> streams.engines.faust.worker",
            id="connectors-load-faust-through-its-engine",
        ),
        pytest.param(
            "engines-independent",
            {"streams/engines/native/borrowed.py": "import streams.engines.faust\n"},
            "streams.engines.native.borrowed -> streams.engines.faust",
            id="the-native-engine-imports-the-faust-engine",
        ),
        pytest.param(
            "acyclic",
            {
                "localkafka/ping.py": "def f() -> None:\n    import localkafka.pong\n",
                "localkafka/pong.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    import localkafka.ping\n"
                ),
            },
            "No cycles are allowed in localkafka.",
            id="a-cycle-through-a-function-and-type-checking",
        ),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tree_copy: Path,
    real_tree: subprocess.CompletedProcess[str],
    contract_id: str,
    modules: dict[str, str],
    reported: str,
) -> None:
    for path, source in modules.items():
        (tree_copy / path).write_text(f'"""A deliberate wrong import."""\n\n{source}')

    broken = _lint(tree_copy, contract_id)

    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert _verdicts(broken.stdout) == {contract_id: "BROKEN"}
    assert reported in broken.stdout
    assert reported not in real_tree.stdout


def test_the_tree_keeps_every_contract(real_tree: subprocess.CompletedProcess[str]) -> None:
    report = real_tree.stdout + real_tree.stderr
    assert _verdicts(real_tree.stdout) == dict.fromkeys(CONTRACTS, "KEPT"), report
    assert real_tree.returncode == 0, report
