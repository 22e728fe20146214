"""`clever-stream demo` (what `make demo` runs) as a user runs it: start, show, Ctrl-C, gone."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest

from localkafka.config import BrokerLayout
from localkafka.procs import is_alive, pids_with_argument
from tests.e2e.conftest import CommandEnv, run_command

pytestmark = pytest.mark.e2e

READY = "Press Ctrl-C to stop."


async def run_until_ready_then_signal(env: dict[str, str], sig: signal.Signals) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clever_stream",
        "demo",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:

        async def read_until_ready() -> None:
            while not lines or READY not in lines[-1]:
                line = await process.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise AssertionError("the demo ended before it was ready:\n" + "".join(lines))
                lines.append(line.decode())

        await asyncio.wait_for(read_until_ready(), timeout=180)
        process.send_signal(sig)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, "".join(lines) + rest.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_the_demo_runs_until_interrupted_and_leaves_no_java_behind(
    command_env: CommandEnv, tmp_path: Path, sig: signal.Signals
) -> None:
    code, output = asyncio.run(run_until_ready_then_signal(command_env(), sig))

    assert code == 0, output
    assert "clever-stream.clever.raw.v1" in output
    assert "the aborted write was not seen" in output
    match = re.search(r"pid (\d+), started by this demo", output)
    assert match, output
    assert not is_alive(int(match[1]))
    assert "Nothing is left running." in output
    # The screen is the pipeline's: a legend, totals on exit, no library's log line.
    assert "Each line is one privilege change" in output
    assert re.search(r"Shown: \d+ granted, \d+ revoked, \d+ changed\.", output), output
    assert "aiokafka" not in output
    assert " WARNING " not in output
    assert " ERROR " not in output
    assert "Traceback" not in output
    assert (tmp_path / "broker-demo" / "demo.log").is_file()
    marker = BrokerLayout((tmp_path / "broker-demo").resolve()).command_line_marker
    assert pids_with_argument(marker) == []


def test_the_demo_leaves_a_broker_the_user_started_alone(command_env: CommandEnv) -> None:
    env = command_env()
    started = run_command("localkafka", "start", env=env)
    assert started.code == 0, started.output
    try:
        demo = run_command("clever_stream", "demo", "--duration", "0.5", env=env)
        assert demo.code == 0, demo.output

        status = run_command("localkafka", "status", env=env)
        assert (status.code, status.output.startswith("Running: serving at")) == (0, True)
        assert "fresh start requested" not in demo.output
    finally:
        run_command("localkafka", "stop", env=env)


def test_the_demo_uses_an_existing_cluster_when_told(
    command_env: CommandEnv, bootstrap_servers: str, tmp_path: Path
) -> None:
    finished = run_command(
        "clever_stream",
        "demo",
        "--duration",
        "0.5",
        env=command_env(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX="e2e-demo"
        ),
    )

    assert finished.code == 0, finished.output
    assert "external cluster" in finished.output
    assert "e2e-demo.privileges.state.v1" in finished.output
    assert not (tmp_path / "broker").exists()  # no local broker was started


#: What the demo's live screen shows at once, every time it is drawn.
SCREEN_PARTS = (
    "clever-stream demo: Ctrl-C stops it",
    "fake Clever",
    "/students/<student>/contacts",
    "raw lag",
    "Privilege changes, newest last",
    "GRANTED",
    "because of",
    "Each line is one privilege change",
)
#: A district's row of counters: its ID, then the records synced.
COUNTERS = re.compile(r"([0-9a-f]{24})\s+│\s+([\d,]+)\s+│")


class Terminal:
    """A pseudo-terminal of ``columns`` x ``lines`` running a command, its screen emulated by
    pyte (a VT100 emulator) as a user would see it."""

    def __init__(self, args: list[str], env: dict[str, str], *, columns: int, lines: int):
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self.output = bytearray()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        terminal_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        terminal_env["TERM"] = "xterm-256color"
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=terminal_env, close_fds=True
        )
        os.close(slave)
        self._master = master

    def read(self, timeout_s: float) -> None:
        """Feed the screen what the command wrote within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._master], [], [], left)
            if not ready:
                return
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the command closed the terminal: it ended
                return
            if not chunk:
                return
            self.output += chunk
            self._stream.feed(chunk)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, condition: Callable[[str], bool], timeout_s: float, what: str) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.read(0.5)
            if condition(self.text()):
                return self.text()
            if self.process.poll() is not None:
                break
        raise AssertionError(f"{what}: the screen shows\n{self.text()}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._master)


def test_on_a_terminal_the_demo_keeps_its_header_above_a_tail_of_changes(
    command_env: CommandEnv,
) -> None:
    terminal = Terminal(
        [sys.executable, "-m", "clever_stream", "demo"], command_env(), columns=160, lines=48
    )
    try:

        def whole(text: str) -> bool:
            """The live screen drawn whole: header, counters, changes, legend (a frame read
            half-drawn is not)."""
            return all(part in text for part in SCREEN_PARTS) and COUNTERS.search(text) is not None

        first = terminal.wait_for(whole, 180, "the live screen with changes")
        # Changes keep coming (the fake district changes every 2 s): the header stays.
        later = terminal.wait_for(
            lambda text: text != first and whole(text), 30, "the screen updating"
        )
        terminal.process.send_signal(signal.SIGINT)
        terminal.read(60)
        code = terminal.process.wait(timeout=60)
    finally:
        terminal.close()

    counters = COUNTERS.search(later)
    assert counters, later
    assert int(counters[2].replace(",", "")) > 0  # records synced
    everything = terminal.output.decode(errors="replace")
    assert code == 0, everything
    assert re.search(r"Shown: \d+ granted, \d+ revoked, \d+ changed\.", everything)
    assert "Nothing is left running." in everything
    for noise in ("Traceback", "aiokafka", " WARNING ", " ERROR "):
        assert noise not in everything
