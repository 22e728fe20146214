"""The topics one deployment reads and writes, named under its prefix (both engines)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.topics import DEAD_LETTERS, PRIVILEGE_CHANGES, PRIVILEGE_STATE, RAW_EVENTS


@dataclass(frozen=True, slots=True)
class OutputTopics:
    """The names of the topics a deployment reads and writes."""

    raw: str
    changes: str
    state: str
    dead_letters: str

    @classmethod
    def of(cls, prefix: str, *, raw_prefix: str | None = None) -> OutputTopics:
        """The topics under ``prefix``; the raw topic under ``raw_prefix`` if given."""
        return cls(
            raw=RAW_EVENTS.name(raw_prefix or prefix),
            changes=PRIVILEGE_CHANGES.name(prefix),
            state=PRIVILEGE_STATE.name(prefix),
            dead_letters=DEAD_LETTERS.name(prefix),
        )
