"""The privilege processor: raw Clever records to privilege changes, states and dead letters.

Deterministic and free of I/O: ``process`` applies one record to a ``StateStore`` (an
engine's tables, or a ``MemoryStore``) and returns what to send. Business rules live in
``streams.core``; this package adds the state around them: contacts held, students and the
contacts that list them, live pairs and their grants, the event IDs applied, each district's
position and open sync.
"""

from __future__ import annotations

from streams.processor.dead_letters import STAGE
from streams.processor.encoding import (
    decode_grants,
    decode_progress,
    decode_student,
    encode_grants,
    encode_progress,
    encode_student,
)
from streams.processor.events import WINDOW_DAYS
from streams.processor.exceptions import ProcessorError, StaleEventError
from streams.processor.process import Outputs, Position, process, process_bytes
from streams.processor.store import (
    RECENTLY_DELETED_LIMIT,
    ContactGrants,
    DistrictProgress,
    MemoryStore,
    PairGrant,
    StateStore,
    StudentEntry,
)

__all__ = [
    "RECENTLY_DELETED_LIMIT",
    "STAGE",
    "WINDOW_DAYS",
    "ContactGrants",
    "DistrictProgress",
    "MemoryStore",
    "Outputs",
    "PairGrant",
    "Position",
    "ProcessorError",
    "StaleEventError",
    "StateStore",
    "StudentEntry",
    "decode_grants",
    "decode_progress",
    "decode_student",
    "encode_grants",
    "encode_progress",
    "encode_student",
    "process",
    "process_bytes",
]
