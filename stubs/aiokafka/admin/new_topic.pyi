"""A topic to create."""

class NewTopic:
    name: str
    num_partitions: int
    replication_factor: int
    topic_configs: dict[str, str]
    def __init__(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        *,
        topic_configs: dict[str, str] | None = None,
    ) -> None: ...
