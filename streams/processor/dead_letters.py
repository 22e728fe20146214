"""Dead letters of the privilege stage: the record kept whole, the error, and where it was read.

Messages name the error only: the core's and the JSON parser's messages say what was wrong
with a record's shape, never what it held, so no personal data reaches the ops topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from schemas.codec import default_codec
from schemas.exceptions import EncodeError
from schemas.keys import district_key
from schemas.records import DeadLetter, RawCleverRecord
from streams.processor.position import Position

#: The ``stage`` of this stage's dead letters.
STAGE: Final = "privileges"
_MESSAGE_LIMIT: Final = 1000


def dead_letter(
    error: BaseException,
    *,
    position: Position,
    now: datetime,
    source_topic: str = "",
    record: RawCleverRecord | None = None,
    district_id: str | None = None,
    original_key: bytes | None = None,
    original_value: bytes | None = None,
) -> DeadLetter:
    """The dead letter of a record ``error`` stopped.

    With only the decoded ``record`` to hand, its key and value are re-encoded (the
    codec is deterministic, so they equal what was read unless the record came from an
    older schema version).
    """
    if record is not None:
        district_id = district_id or record.district_id
        if original_value is None:
            original_value = _encoded(record)
    if original_key is None and district_id:
        original_key = district_key(district_id)
    return DeadLetter(
        stage=STAGE,
        error_type=type(error).__name__,
        error_message=str(error)[:_MESSAGE_LIMIT] or type(error).__name__,
        district_id=district_id,
        source_topic=source_topic or None,
        source_partition=position.partition,
        source_offset=position.offset,
        original_key=original_key,
        original_value=original_value,
        failed_at=now,
    )


def _encoded(record: RawCleverRecord) -> bytes | None:
    try:
        return default_codec().encode(record)
    except EncodeError:
        return None
