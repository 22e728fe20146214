"""Ask a broker, over the Kafka protocol itself, whether it is serving: a readiness probe.

A listening socket is not enough: a KRaft broker accepts connections before it has caught up
with the controller and been unfenced, and until then it cannot host a topic. A Metadata
response that lists at least one broker is the signal clients rely on, so it is ours too.
On a SASL_SSL listener the probe first speaks TLS and logs in with SASL PLAIN, as a client.
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass, field

_METADATA_API_KEY = 3
_METADATA_VERSION = 4  # the oldest Kafka 4 still serves (KIP-896), non-flexible encoding
_SASL_HANDSHAKE_API_KEY = 17
_SASL_HANDSHAKE_VERSION = 1  # then SaslAuthenticate frames the tokens
_SASL_AUTHENTICATE_API_KEY = 36
_SASL_AUTHENTICATE_VERSION = 0
_CLIENT_ID = b"clever-stream-probe"
_CORRELATION_ID = 0x0C1E


@dataclass(frozen=True)
class ProbeLogin:
    """How the probe reaches a secured listener: a TLS context, and a SASL PLAIN user."""

    tls: ssl.SSLContext
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ClusterView:
    """What a Metadata response told us."""

    brokers: tuple[tuple[int, str, int], ...]
    controller_id: int


def _request(api_key: int, version: int, body: bytes) -> bytes:
    """A size-prefixed request with a v1 header (api key, version, correlation, client)."""
    header = struct.pack(">hhih", api_key, version, _CORRELATION_ID, len(_CLIENT_ID))
    payload = header + _CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def metadata_request() -> bytes:
    """A size-prefixed Metadata v4 request for no topics."""
    # An empty topic array; no auto-creation.
    return _request(_METADATA_API_KEY, _METADATA_VERSION, struct.pack(">ib", 0, 0))


def sasl_handshake_request(mechanism: str) -> bytes:
    """A size-prefixed SaslHandshake v1 request for ``mechanism``."""
    name = mechanism.encode("ascii")
    return _request(
        _SASL_HANDSHAKE_API_KEY, _SASL_HANDSHAKE_VERSION, struct.pack(">h", len(name)) + name
    )


def sasl_plain_request(username: str, password: str) -> bytes:
    """A size-prefixed SaslAuthenticate v0 request carrying a PLAIN token (RFC 4616)."""
    token = b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")
    return _request(
        _SASL_AUTHENTICATE_API_KEY,
        _SASL_AUTHENTICATE_VERSION,
        struct.pack(">i", len(token)) + token,
    )


def error_code_of(payload: bytes) -> int:
    """The error code that leads a SaslHandshake or SaslAuthenticate response body."""
    correlation_id, code = struct.unpack_from(">ih", payload, 0)
    if correlation_id != _CORRELATION_ID:
        raise ValueError(f"unexpected correlation id {correlation_id}")
    return int(code)


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


def probe(
    host: str, port: int, *, login: ProbeLogin | None = None, timeout_s: float = 2.0
) -> ClusterView | None:
    """The broker's view of the cluster, or None if it is not serving yet (or refuses
    ``login``)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as plain:
            if login is None:
                return _metadata(plain)
            with login.tls.wrap_socket(plain, server_hostname=host) as connection:
                if error_code_of(_exchange(connection, sasl_handshake_request("PLAIN"))):
                    return None
                if error_code_of(
                    _exchange(connection, sasl_plain_request(login.username, login.password))
                ):
                    return None
                return _metadata(connection)
    except (OSError, ValueError, struct.error):
        return None


def is_serving(
    host: str, port: int, *, login: ProbeLogin | None = None, timeout_s: float = 2.0
) -> bool:
    """Whether the broker answers Metadata and lists at least one live broker."""
    view = probe(host, port, login=login, timeout_s=timeout_s)
    return view is not None and len(view.brokers) > 0


def _metadata(connection: socket.socket) -> ClusterView:
    return parse_metadata_response(_exchange(connection, metadata_request()))


def _exchange(connection: socket.socket, request: bytes) -> bytes:
    """Send ``request``; the response after its size prefix."""
    connection.sendall(request)
    (size,) = struct.unpack(">i", _receive(connection, 4))
    return _receive(connection, size)


def _receive(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)
