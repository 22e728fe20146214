"""The parts of Avro's binary encoding the engine's hand writers join: the codec's bytes.

Avro writes a record as its fields' encodings, one after the other, so a writer that knows
the schema can join bytes it keeps (a privilege, a time) with the few it writes afresh. The
writers (``output_writer``, ``contact_writer``) check themselves against the codec before
they write anything: every function here raises ``TypeError`` on a value of a type it does
not expect, and the writer then lets the codec write, or raise, exactly as it would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Final, TypeVar

from fastavro.write import LOGICAL_WRITERS

from schemas.codec import Codec
from schemas.records import Message, Privilege
from schemas.values import ContactType, Relationship

M = TypeVar("M", bound=Message)

#: fastavro's own conversion of a datetime to a timestamp-millis long.
_MILLIS: Final[Callable[[Any, dict[str, Any]], Any]] = LOGICAL_WRITERS["long-timestamp-millis"]
#: How many privileges, times (and the like) a writer keeps; past that, it starts again.
CACHE_LIMIT: Final = 4096
NULL: Final = b"\x00"
PRESENT: Final = b"\x02"  # the union branch 1 (after null), as a zig-zag varint


def long_bytes(value: int) -> bytes:
    """An Avro long: zig-zag, then a little-endian base-128 varint."""
    if not -(1 << 63) <= value < (1 << 63):
        raise OverflowError(f"{value} is not a 64-bit long")
    encoded = (value << 1) ^ (value >> 63)
    out = bytearray()
    while encoded > 0x7F:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)
    return bytes(out)


#: String lengths below 64 are one byte; the common IDs and texts are.
_SHORT_LENGTHS: Final = tuple(long_bytes(length) for length in range(64))


def text(value: str) -> bytes:
    """An Avro string; only an exact ``str`` (anything else raises, and the codec writes)."""
    if type(value) is not str:
        raise TypeError("not text")
    encoded = value.encode("utf-8")
    size = len(encoded)
    return (_SHORT_LENGTHS[size] if size < 64 else long_bytes(size)) + encoded


def optional_text(value: str | None) -> bytes:
    """An Avro ``["null", "string"]``."""
    return NULL if value is None else PRESENT + text(value)


def symbols(enum_type: type[Enum]) -> dict[Enum, bytes]:
    """Each member's index in its Avro enum (the Python order; the probes check it)."""
    return {member: long_bytes(index) for index, member in enumerate(enum_type)}


def symbol(table: dict[Enum, bytes], enum_type: type[Enum], value: object) -> bytes:
    """A member of ``enum_type`` as its Avro enum index; a plain string raises."""
    if type(value) is not enum_type:
        raise TypeError("not a member")
    return table[value]


def check_texts(*values: object) -> None:
    """Raise unless every value is None or an exact ``str``."""
    for value in values:
        if value is not None and type(value) is not str:
            raise TypeError("not text")


def keep(cache: dict[Any, bytes], key: Any, value: bytes) -> None:
    """Keep ``value`` under ``key``; a full cache starts again (what repeats comes back)."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


_RELATIONSHIPS: Final = symbols(Relationship)
_CONTACT_TYPES: Final = symbols(ContactType)


class KeptParts:
    """Privileges and times, each written once and kept: a district writes the same few."""

    def __init__(self) -> None:
        self._privileges: dict[Privilege, bytes] = {}
        self._times: dict[datetime, bytes] = {}
        #: The last time written, by identity: every record of one raw record holds the
        #: same ``now``, so most lookups need not hash it at all.
        self._last_time: tuple[datetime | None, bytes] = (None, b"")

    def privilege(self, privilege: Privilege) -> bytes:
        """A ``Privilege`` record."""
        # Types are checked before the lookup: an equal privilege of other types (a plain
        # string for an enum, a str subclass for a text) must not find this one's bytes.
        if type(privilege) is not Privilege:
            raise TypeError("not a Privilege")
        relationship = symbol(_RELATIONSHIPS, Relationship, privilege.relationship)
        contact_type = symbol(_CONTACT_TYPES, ContactType, privilege.contact_type)
        check_texts(privilege.relationship_raw, privilege.contact_type_raw)
        found = self._privileges.get(privilege)
        if found is None:
            found = b"".join(
                (
                    relationship,
                    optional_text(privilege.relationship_raw),
                    contact_type,
                    optional_text(privilege.contact_type_raw),
                )
            )
            keep(self._privileges, privilege, found)
        return found

    def time(self, moment: datetime) -> bytes:
        """A timestamp-millis long."""
        last, written = self._last_time
        if moment is last:
            return written
        found = self._time_of(moment)
        self._last_time = (moment, found)
        return found

    def _time_of(self, moment: datetime) -> bytes:
        # Aware times only: equal aware times are one instant, so one long; a naive one
        # is read in the local zone, and may not equal an aware one that hashes alike.
        if type(moment) is not datetime or moment.tzinfo is None:
            raise TypeError("not an aware datetime")
        found = self._times.get(moment)
        if found is None:
            millis = _MILLIS(moment, {})
            if type(millis) is not int:
                raise TypeError("fastavro gave no integer")
            found = long_bytes(millis)
            keep(self._times, moment, found)
        return found


def written(codec: Codec, header: bytes | None, body: Callable[[M], bytes], record: M) -> bytes:
    """The codec's bytes of ``record``: ``header`` and ``body``'s, when the probes matched
    (``header`` is not None) and ``body`` takes the record; else the codec writes, or raises."""
    if header is not None:
        try:
            return header + body(record)
        except Exception:  # noqa: S110 - anything unexpected: the codec writes, or raises
            pass
    return codec.encode(record)


def codec_header(codec: Codec, probes: Iterable[M], body: Callable[[M], bytes]) -> bytes | None:
    """What the codec puts before every body of ``probes``, if it writes each probe exactly
    as ``body`` then; None if it does not (so the caller must leave the writing to it)."""
    header = None
    for probe in probes:
        try:
            expected, written = codec.encode(probe), body(probe)
        except Exception:  # a probe the codec or the writer cannot write: no fast path
            return None
        if not expected.endswith(written):
            return None
        found = expected[: len(expected) - len(written)]
        if header is None:
            header = found
        elif found != header:
            return None
    return header


def probe_texts() -> Iterator[str | None]:
    """Texts of every length class: empty, one varint byte, two, non-ASCII."""
    yield from (None, "", "x", "é€😀", "a" * 63, "b" * 64, "c" * 200, "d" * 20000)


def probe_times() -> list[datetime]:
    """Times either side of the epoch, in another offset, and at Python's limits."""
    return [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]


def probe_privileges() -> list[Privilege]:
    """Every pair of symbols, and raw texts of every length class."""
    texts = list(probe_texts())
    found = [
        Privilege(relationship=relationship, contact_type=contact_type)
        for relationship in Relationship
        for contact_type in ContactType
    ]
    found += [
        Privilege(
            relationship=Relationship.PARENT,
            relationship_raw=text,
            contact_type=ContactType.FAMILY,
            contact_type_raw=texts[-1 - n],
        )
        for n, text in enumerate(texts)
    ]
    return found
