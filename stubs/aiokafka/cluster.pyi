"""The client's view of the cluster's metadata."""

from aiokafka.protocol.api import Response

class ClusterMetadata:
    def partitions_for_topic(self, topic: str) -> set[int] | None: ...
    # A MetadataResponse of any version.
    def update_metadata(self, metadata: Response) -> None: ...
