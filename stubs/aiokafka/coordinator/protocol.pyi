"""The consumer protocol's join metadata and assignment, as assignors see them."""

from aiokafka.protocol.struct import Struct

# user_data is nullable bytes on the wire: None decodes from a member that sent none
# (aiokafka annotates it ``bytes``).

class ConsumerProtocolMemberMetadata(Struct):
    subscription: list[str]
    user_data: bytes | None
    def __init__(self, version: int, subscription: list[str], user_data: bytes | None) -> None: ...

class ConsumerProtocolMemberAssignment(Struct):
    # (topic, partitions): aiokafka annotates its Assignment NamedTuple, decoding gives tuples.
    assignment: list[tuple[str, list[int]]]
    user_data: bytes | None
    def __init__(
        self, version: int, assignment: list[tuple[str, list[int]]], user_data: bytes | None
    ) -> None: ...

class ConsumerProtocol:
    METADATA = ConsumerProtocolMemberMetadata
    ASSIGNMENT = ConsumerProtocolMemberAssignment
