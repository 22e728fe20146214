"""The worker's topics as Faust sees them: every value raw bytes in our Avro encoding.

Faust's own serializers are bypassed (``raw``): values are the contract's single-object
Avro, written and read with ``schemas.codec``, so any consumer decodes them the same way.
The names are ``streams.topics.OutputTopics``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TopicT

from streams.topics import OutputTopics


@dataclass(frozen=True, kw_only=True)
class WorkerTopics:
    """The Faust topics of one deployment (one topic prefix)."""

    raw: TopicT
    changes: TopicT
    state: TopicT
    dead_letters: TopicT

    @classmethod
    def declare(cls, app: faust.App, *, topics: OutputTopics) -> WorkerTopics:
        """Faust topic objects for the pipeline's topics, which ``topics create`` made."""

        def topic(name: str) -> TopicT:
            return app.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw",
                value_serializer="raw",
            )  # fmt: skip

        return cls(
            raw=topic(topics.raw),
            changes=topic(topics.changes),
            state=topic(topics.state),
            dead_letters=topic(topics.dead_letters),
        )

    def by_name(self) -> dict[str, TopicT]:
        """The topics by name."""
        return {
            topic.get_topic_name(): topic
            for topic in (self.raw, self.changes, self.state, self.dead_letters)
        }
