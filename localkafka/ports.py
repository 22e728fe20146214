"""Loopback ports for brokers: a free one, and whether one is free."""

from __future__ import annotations

import socket


def free_port(host: str, *, avoid: list[int]) -> int:
    """A port of ``host`` nothing listens on, other than those in ``avoid``."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
            probe_socket.bind((host, 0))
            port = int(probe_socket.getsockname()[1])
        if port not in avoid:
            return port


def port_is_free(host: str, port: int) -> bool:
    """Whether a broker could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        # As the JVM does: a port in TIME_WAIT is free, one with a listener is not.
        probe_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe_socket.bind((host, port))
        except OSError:
            return False
    return True
