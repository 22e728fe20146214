"""The admin client, with the keyword arguments this project passes."""

import ssl
from typing import Literal, TypedDict, type_check_only

from aiokafka.admin.config_resource import ConfigResource
from aiokafka.admin.new_partitions import NewPartitions
from aiokafka.admin.new_topic import NewTopic
from aiokafka.protocol.api import Response
from aiokafka.structs import OffsetAndMetadata, TopicPartition

# aiokafka annotates the broker's answers as ``Response`` (or ``Any``), whose fields are set
# from the version's schema at run time. These name the fields of every version we may get.

@type_check_only
class _CreateTopicsResponse(Response):
    # (topic, error_code), and from v1 on the error message (None without an error).
    topic_errors: list[tuple[str, int, *tuple[str | None, ...]]]

@type_check_only
class _DescribeConfigsResponse(Response):
    # (error_code, error_message, resource_type, resource_name, config_entries); an entry
    # starts (name, value, read_only) whatever the version.
    resources: list[
        tuple[int, str | None, int, str, list[tuple[str, str | None, bool, *tuple[object, ...]]]]
    ]

# Only the keys every version has and this project reads.

@type_check_only
class _DescribeGroupsResponse(Response):
    # (error_code, group_id, state, protocol_type, protocol, members, ...); a member is
    # (member_id, [group_instance_id,] client_id, client_host, metadata, assignment).
    groups: list[tuple[object, ...]]

@type_check_only
class _PartitionDescription(TypedDict):
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]

@type_check_only
class _TopicDescription(TypedDict):
    error_code: int
    topic: str
    partitions: list[_PartitionDescription]

@type_check_only
class _ClusterDescription(TypedDict):
    brokers: list[dict[str, object]]

class AIOKafkaAdminClient:
    def __init__(
        self,
        *,
        bootstrap_servers: str | list[str] = "localhost",
        request_timeout_ms: int = 40000,
        security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT",
        ssl_context: ssl.SSLContext | None = None,
        sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN",
        sasl_plain_username: str | None = None,
        sasl_plain_password: str | None = None,
    ) -> None: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def create_topics(
        self, new_topics: list[NewTopic], timeout_ms: int | None = None
    ) -> _CreateTopicsResponse: ...
    async def create_partitions(
        self,
        topic_partitions: dict[str, NewPartitions],
        timeout_ms: int | None = None,
        validate_only: bool = False,
    ) -> Response: ...
    async def delete_topics(self, topics: list[str], timeout_ms: int | None = None) -> Response: ...
    async def list_topics(self) -> list[str]: ...
    async def describe_topics(self, topics: list[str] | None = None) -> list[_TopicDescription]: ...
    async def describe_cluster(self) -> _ClusterDescription: ...
    async def describe_configs(
        self, config_resources: list[ConfigResource]
    ) -> list[_DescribeConfigsResponse]: ...
    async def list_consumer_group_offsets(
        self, group_id: str
    ) -> dict[TopicPartition, OffsetAndMetadata]: ...
    async def describe_consumer_groups(
        self, group_ids: list[str]
    ) -> list[_DescribeGroupsResponse]: ...
    # Each group as (group ID, protocol type).
    async def list_consumer_groups(
        self, broker_ids: list[int] | None = None
    ) -> list[tuple[str, str]]: ...
