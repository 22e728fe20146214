"""clever-stream: Clever guardian-to-student privilege changes as a Kafka stream."""

from __future__ import annotations

__version__ = "0.1.0"
