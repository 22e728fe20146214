"""The worker's topics as Faust sees them: every value raw bytes in our Avro encoding.

Faust's own serializers are bypassed (``raw``): values are the contract's single-object
Avro, written and read with ``schemas.codec``, so any consumer decodes them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TopicT

from schemas.topics import DEAD_LETTERS, PRIVILEGE_CHANGES, PRIVILEGE_STATE, RAW_EVENTS


@dataclass(frozen=True, kw_only=True)
class WorkerTopics:
    """The Faust topics of one deployment (one topic prefix)."""

    raw: TopicT
    changes: TopicT
    state: TopicT
    dead_letters: TopicT

    @classmethod
    def declare(cls, app: faust.App, *, prefix: str) -> WorkerTopics:
        """Faust topic objects for the pipeline's topics, which ``topics create`` made."""

        def topic(name: str) -> TopicT:
            return app.topic(
                name, key_type=bytes, value_type=bytes, key_serializer="raw",
                value_serializer="raw",
            )  # fmt: skip

        return cls(
            raw=topic(RAW_EVENTS.name(prefix)),
            changes=topic(PRIVILEGE_CHANGES.name(prefix)),
            state=topic(PRIVILEGE_STATE.name(prefix)),
            dead_letters=topic(DEAD_LETTERS.name(prefix)),
        )
