"""The JoinGroup response, as the tests hand it to a ``GroupCoordinator``."""

from collections.abc import Sequence

from aiokafka.protocol.api import Response

class JoinGroupResponse_v5(Response):
    def __init__(
        self,
        throttle_time_ms: int,
        error_code: int,
        generation_id: int,
        group_protocol: str,
        leader_id: str,
        member_id: str,
        # (member_id, group_instance_id, member_metadata)
        members: Sequence[tuple[str, str | None, bytes]],
    ) -> None: ...
