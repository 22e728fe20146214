"""The privilege processor: raw Clever records to privilege changes, states and dead letters.

Deterministic and free of I/O: ``process`` applies one record to a ``StateStore`` (the Faust
agent's tables, or a ``MemoryStore``) and returns what to send. Business rules live in
``streams.core``; this package adds the state around them: contacts held, the
student-to-contacts index, grant times, each district's position and open sync.
"""

from __future__ import annotations

from streams.processor.dead_letters import STAGE
from streams.processor.encoding import (
    decode_grants,
    decode_progress,
    encode_grants,
    encode_progress,
)
from streams.processor.process import Outputs, Position, process, process_bytes
from streams.processor.store import (
    RECENTLY_DELETED_LIMIT,
    ContactGrants,
    DistrictProgress,
    MemoryStore,
    PairGrant,
    StateStore,
)

__all__ = [
    "RECENTLY_DELETED_LIMIT",
    "STAGE",
    "ContactGrants",
    "DistrictProgress",
    "MemoryStore",
    "Outputs",
    "PairGrant",
    "Position",
    "StateStore",
    "decode_grants",
    "decode_progress",
    "encode_grants",
    "encode_progress",
    "process",
    "process_bytes",
]
