"""The Metadata response, as the tests feed it to a ``ClusterMetadata``."""

from aiokafka.protocol.api import Response

class MetadataResponse_v0(Response):
    def __init__(
        self,
        brokers: list[tuple[int, str, int]],
        # (error_code, topic, [(error_code, partition, leader, replicas, isr)])
        topics: list[tuple[int, str, list[tuple[int, int, int, list[int], list[int]]]]],
    ) -> None: ...
