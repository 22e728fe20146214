"""Kafka keys of the pipeline's topics: plain UTF-8 text, readable in any language.

District-keyed topics carry the Clever district ID; the current-state topic carries
``<district>/<contact>/<student>`` (Clever IDs never contain "/"), so compaction keeps one
record per pair. Keys are text, not Avro, because partitioners hash them and every Kafka
tool prints them as they are.
"""

from __future__ import annotations

from schemas.exceptions import DecodeError

PAIR_SEPARATOR = "/"


def district_key(district_id: str) -> bytes:
    """The key of a district-keyed record."""
    return district_id.encode("utf-8")


def pair_key(district_id: str, contact_id: str, student_id: str) -> bytes:
    """The key of a (district, contact, student) pair on the current-state topic."""
    parts = (district_id, contact_id, student_id)
    if any(not part or PAIR_SEPARATOR in part for part in parts):
        raise ValueError(f"IDs must be non-empty and free of {PAIR_SEPARATOR!r}: {parts}")
    return PAIR_SEPARATOR.join(parts).encode("utf-8")


def parse_district_key(key: bytes | None) -> str:
    """The district ID of a district-keyed record."""
    if not key:
        raise DecodeError("a district-keyed record has no key")
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeError(f"a district key is not UTF-8: {key[:40]!r}") from error


def parse_pair_key(key: bytes | None) -> tuple[str, str, str]:
    """``(district_id, contact_id, student_id)`` of a current-state key."""
    text = parse_district_key(key)
    parts = text.split(PAIR_SEPARATOR)
    if len(parts) != 3 or not all(parts):
        raise DecodeError(f"not a district/contact/student key: {text[:120]!r}")
    return parts[0], parts[1], parts[2]
