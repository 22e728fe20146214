"""The deterministic ID of a privilege change, part of the contract consumers deduplicate on.

A change is identified by its pair and its cause: one Clever event (or one sync) changes a
(district, contact, student) pair at most once. Replaying the raw stream, or processing an
event Clever sent twice, therefore gives the same ID, and a consumer that has seen it skips it.
"""

from __future__ import annotations

import hashlib

from schemas.records import Cause

_ID_HEX_DIGITS = 32


def change_id(*, district_id: str, contact_id: str, student_id: str, cause: Cause) -> str:
    """32 hex digits of SHA-256 over the pair and the cause's identity."""
    cause_identity = cause.clever_event_id if cause.clever_event_id is not None else cause.sync_id
    parts = (district_id, contact_id, student_id, str(cause.kind), cause_identity or "")
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:_ID_HEX_DIGITS]
