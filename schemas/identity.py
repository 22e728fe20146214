"""The deterministic ID of a privilege change, part of the contract consumers deduplicate on.

A change is identified by its pair, its cause, and where its cause sits: the number of the
causing raw record in its district's stream and the change's number among that record's
changes. Replaying the raw stream therefore gives the same IDs again, and no two changes can
share one (two raw records never share a number, and one record numbers its changes), so a
consumer that deduplicates on it drops replays and nothing else (docs/decisions/0004).
"""

from __future__ import annotations

import hashlib

from schemas.records import Cause

_ID_HEX_DIGITS = 32


def change_id(
    *,
    district_id: str,
    contact_id: str,
    student_id: str,
    cause: Cause,
    record_number: int,
    ordinal: int,
) -> str:
    """32 hex digits of SHA-256 over the pair, the cause's identity and its place.

    ``record_number`` is the causing raw record's number in its district's stream (1 for the
    first), ``ordinal`` the change's number among that record's changes (0 for the first).
    """
    cause_identity = cause.clever_event_id if cause.clever_event_id is not None else cause.sync_id
    parts = (
        district_id,
        contact_id,
        student_id,
        str(cause.kind),
        cause_identity or "",
        str(record_number),
        str(ordinal),
    )
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:_ID_HEX_DIGITS]
