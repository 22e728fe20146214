"""The readiness probe's Kafka wire format, checked against hand-built bytes."""

from __future__ import annotations

import socket
import struct

from localkafka.probe import is_serving, metadata_request, parse_metadata_response


def kafka_string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    return struct.pack(">h", len(text)) + text.encode()


def test_the_request_is_metadata_v4_for_no_topics() -> None:
    request = metadata_request()
    (size,) = struct.unpack_from(">i", request)
    api_key, version, _correlation, client_id_length = struct.unpack_from(">hhih", request, 4)

    assert size == len(request) - 4
    assert (api_key, version) == (3, 4)
    assert request[-5:] == struct.pack(">ib", 0, 0)  # no topics, no auto-creation
    assert client_id_length == len(request) - 4 - 10 - 5


def test_a_response_is_read_for_its_brokers_and_controller() -> None:
    (correlation_id,) = struct.unpack_from(">i", metadata_request(), 8)
    response = (
        struct.pack(">ii", correlation_id, 0)
        + struct.pack(">i", 1)
        + struct.pack(">i", 1)
        + kafka_string("127.0.0.1")
        + struct.pack(">i", 19092)
        + kafka_string(None)
        + kafka_string("cluster")
        + struct.pack(">i", 1)
        + struct.pack(">i", 0)  # no topics
    )

    view = parse_metadata_response(response)

    assert view.brokers == ((1, "127.0.0.1", 19092),)
    assert view.controller_id == 1


def test_a_port_nobody_listens_on_is_not_serving() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert not is_serving("127.0.0.1", port, timeout_s=1)


def test_a_listener_that_is_not_kafka_is_not_serving() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # It accepts the connection (backlog) but never answers: the probe gives up.
        assert not is_serving("127.0.0.1", port, timeout_s=0.5)
