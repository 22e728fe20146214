"""The contacts table's values written to Avro by hand: exactly the codec's bytes.

Why not the codec: a contact is written at every commit that changed it, and the codec
builds a datum dict for it and for each of its relationships before fastavro writes it,
which cost the engine about a sixth of its time per raw record. Most of a contact repeats,
though: its privileges (a district has the same few) and its write time (one per raw
record) are written once here and kept (``avro_parts.KeptParts``).

The bytes are changelog records and RocksDB values, read back by the codec on a restore,
so they must be the codec's, byte for byte. ``ContactWriter`` checks that first: it writes
probe snapshots covering every enum symbol, union branch, array and length class with both,
and writes nothing itself unless every one matches. Any value it does not expect (a list
for the relationships, a plain string for an enum, anything that is not text) goes to the
codec, which then writes it or raises exactly as before.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from schemas.codec import Codec
from schemas.records import ContactSnapshot, StudentRelationship
from schemas.values import PhoneType
from streams.writers.avro_parts import (
    KeptParts,
    codec_header,
    long_bytes,
    optional_text,
    probe_privileges,
    probe_texts,
    probe_times,
    symbol,
    symbols,
    text,
    written,
)

_PHONE_TYPES: Final[dict[Enum, bytes]] = symbols(PhoneType)
#: An Avro array ends with a block of no items.
_END_OF_ARRAY: Final = b"\x00"


class ContactWriter:
    """``codec.encode`` of a ``ContactSnapshot``, faster, same bytes."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        parts = KeptParts()
        self._privilege = parts.privilege
        self._time = parts.time
        self._header = codec_header(codec, _probe_snapshots(), self._body)

    @property
    def writes_itself(self) -> bool:
        """Whether the probes matched, so that this writer (not the codec) writes."""
        return self._header is not None

    def contact(self, snapshot: ContactSnapshot) -> bytes:
        """The codec's bytes of ``snapshot``."""
        return written(self._codec, self._header, self._body, snapshot)

    def _body(self, snapshot: ContactSnapshot) -> bytes:
        if type(snapshot) is not ContactSnapshot:
            raise TypeError("not a ContactSnapshot")
        return b"".join(
            (
                text(snapshot.district_id),
                text(snapshot.contact_id),
                optional_text(snapshot.sis_id),
                optional_text(snapshot.legacy_id),
                symbol(_PHONE_TYPES, PhoneType, snapshot.phone_type),
                optional_text(snapshot.phone_type_raw),
                self._relationships(snapshot.relationships),
                optional_text(snapshot.last_event_id),
                optional_text(snapshot.last_sync_id),
                self._time(snapshot.updated_at),
            )
        )

    def _relationships(self, relationships: tuple[StudentRelationship, ...]) -> bytes:
        # fastavro writes a non-empty array as one block: its count, its items, the end.
        if type(relationships) is not tuple:
            raise TypeError("not a tuple")
        if not relationships:
            return _END_OF_ARRAY
        privilege = self._privilege
        items = [long_bytes(len(relationships))]
        for relationship in relationships:
            if type(relationship) is not StudentRelationship:
                raise TypeError("not a StudentRelationship")
            items.append(text(relationship.student_id))
            items.append(privilege(relationship.privilege))
        items.append(_END_OF_ARRAY)
        return b"".join(items)


def _probe_snapshots() -> list[ContactSnapshot]:
    privileges, times = probe_privileges(), probe_times()
    optional = list(probe_texts())
    texts = [value for value in optional if value is not None]
    #: Arrays of no item, one, a few; the last two need a two-byte count (64 and up).
    counts = [0, 1, 2, 3]
    rounds = max(len(privileges), len(times), len(optional), len(PhoneType)) * 2
    found = []
    for n, count in enumerate([counts[n % len(counts)] for n in range(rounds)] + [64, 130]):
        found.append(
            ContactSnapshot(
                district_id=texts[n % len(texts)],
                contact_id=texts[(n + 1) % len(texts)],
                sis_id=optional[n % len(optional)],
                legacy_id=optional[(n + 1) % len(optional)],
                phone_type=list(PhoneType)[n % len(PhoneType)],
                phone_type_raw=optional[(n + 2) % len(optional)],
                relationships=tuple(
                    StudentRelationship(
                        student_id=texts[(n + item) % len(texts)][:100],
                        privilege=privileges[(n + item) % len(privileges)],
                    )
                    for item in range(count)
                ),
                last_event_id=optional[(n + 3) % len(optional)],
                last_sync_id=optional[(n + 4) % len(optional)],
                updated_at=times[n % len(times)],
            )
        )
    return found
