"""Process facts from /proc, and the state folder's lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localkafka import procs
from localkafka.exceptions import BrokerLockedError
from localkafka.filelock import file_lock
from tests.waiting import wait_until


def test_this_process_is_alive_with_a_start_time_and_arguments() -> None:
    assert procs.is_alive(os.getpid())
    assert procs.start_ticks(os.getpid()) is not None
    assert any("pytest" in argument for argument in procs.command_line(os.getpid()))


def test_an_exited_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)

    assert not procs.is_alive(child.pid)
    assert procs.start_ticks(child.pid) is None
    assert procs.command_line(child.pid) == []


def test_a_process_is_found_by_an_argument(tmp_path: Path) -> None:
    marker = f"-Dmarker={tmp_path}"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", marker], stdin=subprocess.PIPE
    )
    try:
        # Until the child has exec'd, /proc shows the arguments of its parent.
        found = wait_until(
            lambda: procs.pids_with_argument(marker), timeout_s=30, what="the child to exec"
        )
        assert found == [child.pid]
    finally:
        child.communicate(timeout=30)
    assert procs.pids_with_argument(marker) == []


def test_a_held_lock_makes_a_second_holder_wait_then_fail(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with (
        file_lock(lock, timeout_s=1, purpose="first"),
        pytest.raises(BrokerLockedError, match="held"),
        file_lock(lock, timeout_s=0.3, purpose="second"),
    ):
        pass
    with file_lock(lock, timeout_s=1, purpose="after release"):
        pass
