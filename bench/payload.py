"""Messages shaped like the poller's: Clever v3 contact events of about 1 KiB, keyed by district.

Realistic bytes matter to a publish benchmark: batch fill, compression and the broker's
append cost all depend on size and shape, so a run of ``b"x" * 1024`` would flatter them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

Message = tuple[bytes, bytes]

_EPOCH = datetime(2025, 9, 1, 13, 0, tzinfo=UTC)


def make_messages(count: int, *, districts: int = 10) -> list[Message]:
    """``count`` distinct ``(key, value)`` events, keyed by ``districts`` district IDs in turn.

    Built before any clock starts and shared by every variant, so all publish the same bytes.
    """
    keys = [object_id("district", n) for n in range(districts)]
    turns = ((n, keys[n % districts]) for n in range(count))
    return [(key.encode(), contact_event(n, key)) for n, key in turns]


def object_id(*parts: object) -> str:
    """A Clever-like 24-hex-digit ID, deterministic so every run publishes the same bytes."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def contact_event(n: int, district: str) -> bytes:
    """The ``n``-th ``contacts.updated`` event: fake names, 555 phones, example.org emails."""
    when = _timestamp(_EPOCH + timedelta(seconds=n))
    before = _timestamp(_EPOCH - timedelta(days=30) + timedelta(seconds=n))
    students = [object_id("student", n, s) for s in range(6)]
    contact = {
        "id": object_id("contact", n),
        "district": district,
        "sis_id": f"G{n:09d}",
        "legacy_id": object_id("legacy", n),
        "name": {"first": "Guardian", "middle": "Q", "last": f"Example{n:07d}"},
        "relationship": "Parent",
        "type": "Parent/Guardian",
        "phone": f"+1555{n % 10_000_000:07d}",
        "phone_type": "Cell",
        "email": f"guardian{n:07d}@example.org",
        "students": students,
        "created": before,
        "last_modified": when,
    }
    event = {
        "id": object_id("event", n),
        "type": "contacts.updated",
        "created": when,
        "data": {
            "object": contact,
            "previous_attributes": {
                "students": students[:4],
                "email": f"old.guardian{n:07d}@example.org",
                "phone": f"+1555{(n + 1) % 10_000_000:07d}",
                "phone_type": "Home",
                "relationship": "Guardian",
                "last_modified": before,
            },
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _timestamp(moment: datetime) -> str:
    """Clever's timestamp format: UTC, milliseconds, a ``Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
