"""The smallest parts of Avro's binary encoding: longs as zig-zag varints, and strings.

Avro writes a record as its fields' encodings one after the other, so the compiled writers
(``streams.writers.compiler``) join these parts in a schema's field order. Each function here
raises ``TypeError`` for a value of a type it does not expect, so that a writer can leave
such a value to the codec, which writes or refuses it as it always does.
"""

from __future__ import annotations

from typing import Any, Final

#: How many values (times, small records) a writer keeps written; past that, it starts again.
CACHE_LIMIT: Final = 4096


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


#: Lengths and counts below 64 are one byte; most IDs, texts and arrays are.
_SHORT: Final = tuple(long_bytes(length) for length in range(64))


def count_bytes(count: int) -> bytes:
    """An Avro long for a length or an item count (never negative)."""
    return _SHORT[count] if count < 64 else long_bytes(count)


def text(value: Any) -> bytes:
    """An Avro string; only an exact ``str`` (anything else raises, and the codec writes)."""
    if type(value) is not str:
        raise TypeError("not text")
    encoded = value.encode("utf-8")
    size = len(encoded)
    return (_SHORT[size] if size < 64 else long_bytes(size)) + encoded


def keep(cache: dict[Any, bytes], key: Any, value: bytes) -> None:
    """Keep ``value`` under ``key``; a full cache starts again (what repeats comes back)."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
