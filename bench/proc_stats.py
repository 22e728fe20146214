"""What a child process holds, read from ``/proc`` and its ``/metrics``: descriptors, sockets,
TCP connections to given ports, and one Prometheus sample (the parsing is pure, for tests)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

#: ``/proc/net/tcp``'s state of an established connection (``include/net/tcp_states.h``).
_ESTABLISHED = "01"


def socket_inodes(links: Iterable[str]) -> set[int]:
    """The inodes of the sockets among ``/proc/<pid>/fd``'s link targets (``socket:[123]``)."""
    found: set[int] = set()
    for link in links:
        if link.startswith("socket:[") and link.endswith("]"):
            found.add(int(link[len("socket:[") : -1]))
    return found


def tcp_connections(table: str) -> list[tuple[int, int]]:
    """(remote port, socket inode) of each established connection of a ``/proc/net/tcp`` or
    ``tcp6`` table (its heading line skipped)."""
    found = []
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _ESTABLISHED:
            continue
        remote_port = int(fields[2].rpartition(":")[2], 16)
        found.append((remote_port, int(fields[9])))
    return found


def metric_value(exposition: str, name: str) -> float:
    """The sum of the samples of ``name`` (every label set) in a Prometheus text exposition;
    NaN when it has none."""
    total, seen = 0.0, False
    for line in exposition.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        metric, _, rest = line.partition(" ")
        if metric.split("{", 1)[0] != name:
            continue
        total += float(rest.split()[0])
        seen = True
    return total if seen else math.nan


def broker_ports(bootstrap_servers: str) -> set[int]:
    """The ports of ``host:port,host:port``."""
    return {int(server.rpartition(":")[2]) for server in bootstrap_servers.split(",") if server}


def descriptors(pid: int) -> list[str]:
    """The link targets of a process's open file descriptors (those gone meanwhile skipped)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:  # closed since it was listed
            continue
    return found


def connections_to(pid: int, ports: set[int]) -> int:
    """The process's established TCP connections to any of ``ports`` (the tables of its
    network namespace, matched to its own sockets by inode)."""
    inodes = socket_inodes(descriptors(pid))
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            text = Path(f"/proc/{pid}/net/{table}").read_text()
        except OSError:  # no IPv6
            continue
        found = tcp_connections(text)
        count += sum(1 for port, inode in found if port in ports and inode in inodes)
    return count
