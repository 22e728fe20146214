from pathlib import Path
from typing import Any, Literal

from quixstreams.dataframe import StreamingDataFrame
from quixstreams.models import Topic
from quixstreams.models.serializers import Serializer

class Application:
    def __init__(
        self,
        broker_address: str | None = None,
        *,
        consumer_group: str | None = None,
        auto_offset_reset: Literal["earliest", "latest", "error"] = "latest",
        commit_interval: float = 5.0,
        consumer_extra_config: dict[str, Any] | None = None,
        producer_extra_config: dict[str, Any] | None = None,
        state_dir: str | Path | None = None,
        loglevel: int | str | None = "INFO",
        auto_create_topics: bool = True,
        use_changelog_topics: bool = True,
        processing_guarantee: Literal["at-least-once", "exactly-once"] = "at-least-once",
    ) -> None: ...
    def topic(
        self,
        name: str,
        value_deserializer: str = "json",
        key_deserializer: str = "bytes",
        value_serializer: str | Serializer = "json",
        key_serializer: str | Serializer = "bytes",
    ) -> Topic: ...
    def dataframe(self, topic: Topic | None = None) -> StreamingDataFrame: ...
    def run(self) -> None: ...
    def stop(self, fail: bool = False) -> None: ...
