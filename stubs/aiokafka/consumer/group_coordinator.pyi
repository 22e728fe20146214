"""The group coordinator: only the leader's half the assignor's tests drive directly."""

from collections.abc import Sequence

from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.protocol.api import Response

class GroupCoordinator:
    group_id: str
    # Private: the tests build a coordinator without a broker (``__new__``), set what
    # ``_perform_assignment`` reads and check which assignor ``_lookup_assignor`` finds.
    _assignors: Sequence[AbstractPartitionAssignor | type[AbstractPartitionAssignor]]
    _subscription: SubscriptionState
    _client: AIOKafkaClient
    _cluster: ClusterMetadata
    # A JoinGroupResponse of any version; the leader's assignment of each member.
    async def _perform_assignment(
        self, response: Response
    ) -> dict[str, ConsumerProtocolMemberAssignment]: ...
    def _lookup_assignor(
        self, name: str
    ) -> AbstractPartitionAssignor | type[AbstractPartitionAssignor] | None: ...
