"""Where a raw record sits on the raw topic: the one coordinate every output is traced to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Position:
    """Where a raw record sits on the raw topic."""

    partition: int
    offset: int
