"""What Linux's /proc says about a process: alive, its start time, its command line."""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def is_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _read(pid, "stat")
    return stat is None or _stat_fields(stat)[0] != "Z"


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot; with the pid it names one process."""
    stat = _read(pid, "stat")
    if stat is None:
        return None
    # Field 22 of /proc/<pid>/stat; fields after the ")" of the command name start at field 3.
    return int(_stat_fields(stat)[19])


def command_line(pid: int) -> list[str]:
    """The arguments of ``pid``, or an empty list when it is gone or unreadable."""
    raw = _read(pid, "cmdline")
    return [part for part in raw.split("\0") if part] if raw else []


def pids_with_argument(argument: str) -> list[int]:
    """Every live process with ``argument`` among its arguments."""
    found = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and argument in command_line(int(entry.name)):
            pid = int(entry.name)
            if pid != os.getpid() and is_alive(pid):
                found.append(pid)
    return found


def _read(pid: int, name: str) -> str | None:
    try:
        return (_PROC / str(pid) / name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _stat_fields(stat: str) -> list[str]:
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return stat[stat.rindex(")") + 2 :].split()
