"""The privilege changes and states the engine sends, written to Avro by hand: the codec's bytes.

Why not the codec: a raw record sends about two of these, and the codec builds a datum dict
per record and sub-record before fastavro writes it, which costs the worker as much as all
its privilege logic. Yet most of what they hold repeats: the privileges (a district sends
the same few), the cause and the times (one per raw record). Here each of those is written
once, kept, and joined with the few fields that differ (Avro's binary encoding of a record is
its fields' encodings, one after the other).

It must write exactly the codec's bytes, so it checks itself: ``OutputWriter`` writes probe
records covering every enum symbol, union branch and length class with both, and only if
every one matches does it write anything itself; otherwise (another schema, another wire
format) every record goes to the codec. A value of a type it does not expect (a plain
string for an enum, anything that is not text) also goes to the codec, which then writes or
raises exactly as it would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Final

from fastavro.write import LOGICAL_WRITERS

from schemas.codec import Codec
from schemas.records import Cause, Privilege, PrivilegeChange, PrivilegeState
from schemas.values import CauseKind, ChangeKind, ContactType, Relationship

#: fastavro's own conversion of a datetime to a timestamp-millis long.
_MILLIS: Final[Callable[[Any, dict[str, Any]], Any]] = LOGICAL_WRITERS["long-timestamp-millis"]
#: How many privileges, causes and times are kept; past that, the cache starts again.
_CACHE_LIMIT: Final = 4096
_NULL: Final = b"\x00"
_PRESENT: Final = b"\x02"  # the union branch 1 (after null), as a zig-zag varint


def _long(value: int) -> bytes:
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
_SHORT_LENGTHS: Final = tuple(_long(length) for length in range(64))


def _text(value: str) -> bytes:
    """An Avro string; only an exact ``str`` (anything else raises, and the codec writes)."""
    if type(value) is not str:
        raise TypeError("not text")
    encoded = value.encode("utf-8")
    size = len(encoded)
    return (_SHORT_LENGTHS[size] if size < 64 else _long(size)) + encoded


def _optional_text(value: str | None) -> bytes:
    return _NULL if value is None else _PRESENT + _text(value)


def _symbols(enum_type: type[Enum]) -> dict[Enum, bytes]:
    """Each member's index in its Avro enum (the Python order; the probes check it)."""
    return {member: _long(index) for index, member in enumerate(enum_type)}


_CHANGE_KINDS: Final = _symbols(ChangeKind)
_CAUSE_KINDS: Final = _symbols(CauseKind)
_RELATIONSHIPS: Final = _symbols(Relationship)
_CONTACT_TYPES: Final = _symbols(ContactType)


def _symbol(table: dict[Enum, bytes], enum_type: type[Enum], value: object) -> bytes:
    if type(value) is not enum_type:
        raise TypeError("not a member")
    return table[value]


class OutputWriter:
    """``codec.encode`` of ``PrivilegeChange`` and ``PrivilegeState``, faster, same bytes."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        self._privileges: dict[Privilege, bytes] = {}
        self._causes: dict[Cause, bytes] = {}
        self._times: dict[datetime, bytes] = {}
        #: The last cause and time written, by identity: every change of a raw record holds
        #: the same cause object, and every output of it the same ``now``, so most lookups
        #: need not hash them at all.
        self._last_cause: tuple[Cause | None, bytes] = (None, b"")
        self._last_time: tuple[datetime | None, bytes] = (None, b"")
        self._change_header: bytes | None = None
        self._state_header: bytes | None = None
        self._change_header = self._header(_probe_changes(), self._change_body)
        self._state_header = self._header(_probe_states(), self._state_body)

    @property
    def writes_itself(self) -> bool:
        """Whether the probes matched, so that this writer (not the codec) writes."""
        return self._change_header is not None and self._state_header is not None

    def change(self, change: PrivilegeChange) -> bytes:
        """The codec's bytes of ``change``."""
        header = self._change_header
        if header is not None:
            try:
                return header + self._change_body(change)
            except Exception:  # noqa: S110 - anything unexpected: the codec writes, or raises
                pass
        return self._codec.encode(change)

    def state(self, state: PrivilegeState) -> bytes:
        """The codec's bytes of ``state``."""
        header = self._state_header
        if header is not None:
            try:
                return header + self._state_body(state)
            except Exception:  # noqa: S110 - anything unexpected: the codec writes, or raises
                pass
        return self._codec.encode(state)

    def _header(
        self, probes: list[PrivilegeChange] | list[PrivilegeState], body: Callable[[Any], bytes]
    ) -> bytes | None:
        """What the codec puts before every body of these probes, if it writes each probe
        exactly as ``body`` then; None if it does not."""
        header = None
        for probe in probes:
            try:
                expected, written = self._codec.encode(probe), body(probe)
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

    def _change_body(self, change: PrivilegeChange) -> bytes:
        before, after = change.before, change.after
        reissued, occurred = change.reissued_from_contact_id, change.occurred_at
        return b"".join(
            (
                _text(change.change_id),
                _symbol(_CHANGE_KINDS, ChangeKind, change.kind),
                _text(change.district_id),
                _text(change.contact_id),
                _text(change.student_id),
                _NULL if before is None else _PRESENT + self._privilege(before),
                _NULL if after is None else _PRESENT + self._privilege(after),
                self._cause(change.cause),
                _NULL if reissued is None else _PRESENT + _text(reissued),
                _NULL if occurred is None else _PRESENT + self._time(occurred),
                self._time(change.emitted_at),
            )
        )

    def _state_body(self, state: PrivilegeState) -> bytes:
        reissued = state.reissued_from_contact_id
        return b"".join(
            (
                _text(state.district_id),
                _text(state.contact_id),
                _text(state.student_id),
                self._privilege(state.privilege),
                self._time(state.granted_at),
                _text(state.last_change_id),
                _NULL if reissued is None else _PRESENT + _text(reissued),
                self._time(state.updated_at),
            )
        )

    def _privilege(self, privilege: Privilege) -> bytes:
        # Types are checked before the lookup: an equal privilege of other types (a plain
        # string for an enum, a str subclass for a text) must not find this one's bytes.
        if type(privilege) is not Privilege:
            raise TypeError("not a Privilege")
        relationship = _symbol(_RELATIONSHIPS, Relationship, privilege.relationship)
        contact_type = _symbol(_CONTACT_TYPES, ContactType, privilege.contact_type)
        _check_texts(privilege.relationship_raw, privilege.contact_type_raw)
        found = self._privileges.get(privilege)
        if found is None:
            found = b"".join(
                (
                    relationship,
                    _optional_text(privilege.relationship_raw),
                    contact_type,
                    _optional_text(privilege.contact_type_raw),
                )
            )
            _keep(self._privileges, privilege, found)
        return found

    def _cause(self, cause: Cause) -> bytes:
        last, written = self._last_cause
        if cause is last:
            return written
        found = self._cause_of(cause)
        self._last_cause = (cause, found)
        return found

    def _cause_of(self, cause: Cause) -> bytes:
        if type(cause) is not Cause:
            raise TypeError("not a Cause")
        kind = _symbol(_CAUSE_KINDS, CauseKind, cause.kind)
        _check_texts(cause.clever_event_id, cause.clever_event_type, cause.sync_id)
        found = self._causes.get(cause)
        if found is None:
            found = b"".join(
                (
                    kind,
                    _optional_text(cause.clever_event_id),
                    _optional_text(cause.clever_event_type),
                    _optional_text(cause.sync_id),
                )
            )
            _keep(self._causes, cause, found)
        return found

    def _time(self, moment: datetime) -> bytes:
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
            found = _long(millis)
            _keep(self._times, moment, found)
        return found


def _check_texts(*values: object) -> None:
    for value in values:
        if value is not None and type(value) is not str:
            raise TypeError("not text")


def _keep(cache: dict[Any, bytes], key: Any, value: bytes) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _probe_texts() -> Iterator[str | None]:
    """Texts of every length class: empty, one varint byte, two, non-ASCII."""
    yield from (None, "", "x", "é€😀", "a" * 63, "b" * 64, "c" * 200, "d" * 20000)


def _probe_times() -> list[datetime]:
    return [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]


def _probe_privileges() -> list[Privilege]:
    texts = list(_probe_texts())
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


def _probe_causes() -> list[Cause]:
    texts = list(_probe_texts())
    found = [Cause(kind=kind) for kind in CauseKind]
    found += [
        Cause(
            kind=CauseKind.CLEVER_EVENT,
            clever_event_id=text,
            clever_event_type=texts[-1 - n],
            sync_id=texts[(n + 3) % len(texts)],
        )
        for n, text in enumerate(texts)
    ]
    return found


def _probe_changes() -> list[PrivilegeChange]:
    privileges, causes, times = _probe_privileges(), _probe_causes(), _probe_times()
    texts = [text for text in _probe_texts() if text is not None]
    found = []
    for n in range(max(len(privileges), len(causes), len(times), len(texts)) * 2):
        privilege = privileges[n % len(privileges)]
        found.append(
            PrivilegeChange(
                change_id=texts[n % len(texts)],
                kind=list(ChangeKind)[n % len(ChangeKind)],
                district_id=texts[(n + 1) % len(texts)],
                contact_id=texts[(n + 2) % len(texts)],
                student_id=texts[(n + 3) % len(texts)],
                before=privilege if n % 3 else None,
                after=privilege if n % 4 else None,
                cause=causes[n % len(causes)],
                reissued_from_contact_id=texts[n % len(texts)] if n % 5 else None,
                occurred_at=times[n % len(times)] if n % 2 else None,
                emitted_at=times[(n + 1) % len(times)],
            )
        )
    return found


def _probe_states() -> list[PrivilegeState]:
    privileges, times = _probe_privileges(), _probe_times()
    texts = [text for text in _probe_texts() if text is not None]
    return [
        PrivilegeState(
            district_id=texts[n % len(texts)],
            contact_id=texts[(n + 1) % len(texts)],
            student_id=texts[(n + 2) % len(texts)],
            privilege=privileges[n % len(privileges)],
            granted_at=times[n % len(times)],
            last_change_id=texts[(n + 3) % len(texts)],
            reissued_from_contact_id=texts[n % len(texts)] if n % 5 else None,
            updated_at=times[(n + 1) % len(times)],
        )
        for n in range(max(len(privileges), len(times), len(texts)) * 2)
    ]
