from collections.abc import Callable
from typing import Any

from quixstreams.models import Topic

class StreamingDataFrame:
    # Quix types its callbacks loosely too (value, key, timestamp, headers[, state]).
    def apply(
        self,
        func: Callable[..., Any],
        *,
        stateful: bool = False,
        expand: bool = False,
        metadata: bool = False,
    ) -> StreamingDataFrame: ...
    def to_topic(
        self,
        topic: Topic | Callable[[Any, Any, int, Any], Topic],
        key: Callable[[Any], Any] | None = None,
    ) -> StreamingDataFrame: ...
