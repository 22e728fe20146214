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

from enum import Enum
from typing import Final

from schemas.codec import Codec
from schemas.records import Cause, PrivilegeChange, PrivilegeState
from schemas.values import CauseKind, ChangeKind
from streams.writers.avro_parts import (
    NULL,
    PRESENT,
    KeptParts,
    check_texts,
    codec_header,
    keep,
    optional_text,
    probe_privileges,
    probe_texts,
    probe_times,
    symbol,
    symbols,
    text,
    written,
)

_CHANGE_KINDS: Final[dict[Enum, bytes]] = symbols(ChangeKind)
_CAUSE_KINDS: Final[dict[Enum, bytes]] = symbols(CauseKind)


class OutputWriter:
    """``codec.encode`` of ``PrivilegeChange`` and ``PrivilegeState``, faster, same bytes."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        parts = KeptParts()
        self._privilege = parts.privilege
        self._time = parts.time
        self._causes: dict[Cause, bytes] = {}
        #: The last cause written, by identity: every change of a raw record holds the same
        #: cause object, so most lookups need not hash it at all.
        self._last_cause: tuple[Cause | None, bytes] = (None, b"")
        self._change_header = codec_header(codec, _probe_changes(), self._change_body)
        self._state_header = codec_header(codec, _probe_states(), self._state_body)

    @property
    def writes_itself(self) -> bool:
        """Whether the probes matched, so that this writer (not the codec) writes."""
        return self._change_header is not None and self._state_header is not None

    def change(self, change: PrivilegeChange) -> bytes:
        """The codec's bytes of ``change``."""
        return written(self._codec, self._change_header, self._change_body, change)

    def state(self, state: PrivilegeState) -> bytes:
        """The codec's bytes of ``state``."""
        return written(self._codec, self._state_header, self._state_body, state)

    def _change_body(self, change: PrivilegeChange) -> bytes:
        before, after = change.before, change.after
        reissued, occurred = change.reissued_from_contact_id, change.occurred_at
        return b"".join(
            (
                text(change.change_id),
                symbol(_CHANGE_KINDS, ChangeKind, change.kind),
                text(change.district_id),
                text(change.contact_id),
                text(change.student_id),
                NULL if before is None else PRESENT + self._privilege(before),
                NULL if after is None else PRESENT + self._privilege(after),
                self._cause(change.cause),
                NULL if reissued is None else PRESENT + text(reissued),
                NULL if occurred is None else PRESENT + self._time(occurred),
                self._time(change.emitted_at),
            )
        )

    def _state_body(self, state: PrivilegeState) -> bytes:
        reissued = state.reissued_from_contact_id
        return b"".join(
            (
                text(state.district_id),
                text(state.contact_id),
                text(state.student_id),
                self._privilege(state.privilege),
                self._time(state.granted_at),
                text(state.last_change_id),
                NULL if reissued is None else PRESENT + text(reissued),
                self._time(state.updated_at),
            )
        )

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
        kind = symbol(_CAUSE_KINDS, CauseKind, cause.kind)
        check_texts(cause.clever_event_id, cause.clever_event_type, cause.sync_id)
        found = self._causes.get(cause)
        if found is None:
            found = b"".join(
                (
                    kind,
                    optional_text(cause.clever_event_id),
                    optional_text(cause.clever_event_type),
                    optional_text(cause.sync_id),
                )
            )
            keep(self._causes, cause, found)
        return found


def _probe_causes() -> list[Cause]:
    texts = list(probe_texts())
    found = [Cause(kind=kind) for kind in CauseKind]
    found += [
        Cause(
            kind=CauseKind.CLEVER_EVENT,
            clever_event_id=value,
            clever_event_type=texts[-1 - n],
            sync_id=texts[(n + 3) % len(texts)],
        )
        for n, value in enumerate(texts)
    ]
    return found


def _probe_changes() -> list[PrivilegeChange]:
    privileges, causes, times = probe_privileges(), _probe_causes(), probe_times()
    texts = [value for value in probe_texts() if value is not None]
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
    privileges, times = probe_privileges(), probe_times()
    texts = [value for value in probe_texts() if value is not None]
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
