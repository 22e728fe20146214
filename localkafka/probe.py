"""Ask a broker, over the Kafka protocol itself, whether it is serving: a readiness probe.

A listening socket is not enough: a KRaft broker accepts connections before it has caught up
with the controller and been unfenced, and until then it cannot host a topic. A Metadata
response that lists at least one broker is the signal clients rely on, so it is ours too.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_METADATA_API_KEY = 3
_METADATA_VERSION = 4  # the oldest Kafka 4 still serves (KIP-896), non-flexible encoding
_CLIENT_ID = b"clever-stream-probe"
_CORRELATION_ID = 0x0C1E


@dataclass(frozen=True)
class ClusterView:
    """What a Metadata response told us."""

    brokers: tuple[tuple[int, str, int], ...]
    controller_id: int


def metadata_request() -> bytes:
    """A size-prefixed Metadata v4 request for no topics."""
    header = struct.pack(
        ">hhih", _METADATA_API_KEY, _METADATA_VERSION, _CORRELATION_ID, len(_CLIENT_ID)
    )
    body = struct.pack(">ib", 0, 0)  # an empty topic array; no auto-creation
    payload = header + _CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def parse_metadata_response(payload: bytes) -> ClusterView:
    """Decode the parts of a Metadata v4 response (after its size prefix) we need."""
    offset = 0

    def take(fmt: str) -> tuple[int, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, payload, offset)
        offset += struct.calcsize(fmt)
        return values

    def take_string() -> str | None:
        nonlocal offset
        (length,) = take(">h")
        if length < 0:
            return None
        text = payload[offset : offset + length].decode("utf-8")
        offset += length
        return text

    (correlation_id,) = take(">i")
    if correlation_id != _CORRELATION_ID:
        raise ValueError(f"unexpected correlation id {correlation_id}")
    take(">i")  # throttle time
    (broker_count,) = take(">i")
    brokers = []
    for _ in range(broker_count):
        (node_id,) = take(">i")
        host = take_string() or ""
        (port,) = take(">i")
        take_string()  # rack
        brokers.append((node_id, host, port))
    take_string()  # cluster id
    (controller_id,) = take(">i")
    return ClusterView(brokers=tuple(brokers), controller_id=controller_id)


def probe(host: str, port: int, *, timeout_s: float = 2.0) -> ClusterView | None:
    """The broker's view of the cluster, or None if it is not serving yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            connection.sendall(metadata_request())
            (size,) = struct.unpack(">i", _receive(connection, 4))
            return parse_metadata_response(_receive(connection, size))
    except (OSError, ValueError, struct.error):
        return None


def is_serving(host: str, port: int, *, timeout_s: float = 2.0) -> bool:
    """Whether the broker answers Metadata and lists at least one live broker."""
    view = probe(host, port, timeout_s=timeout_s)
    return view is not None and len(view.brokers) > 0


def _receive(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)
