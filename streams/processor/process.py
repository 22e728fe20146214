"""One raw Clever record in, the privilege changes, current states and dead letters it causes out.

This is the whole behaviour of the privilege workers with the I/O taken out: the Faust agent
decodes a record, calls ``process`` with its position and a ``StateStore`` over its tables,
and sends the ``Outputs``. The result depends only on the record, its position, the store and
``now``, so replaying the raw topic into an empty store rebuilds the same state.

Idempotency has two layers. A record at or before the district's last applied position is a
replay of the same Kafka record and is skipped whole (``replayed``). A different record with
the same content (Clever repeats a change under a new event ID) is applied, but an update is
diffed as a whole object against the stored contact, so it finds nothing to change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from schemas.codec import Codec, default_codec
from schemas.exceptions import DecodeError
from schemas.keys import parse_district_key
from schemas.records import Cause, DeadLetter, PrivilegeChange, PrivilegeState, RawCleverRecord
from schemas.values import CauseKind, RawRecordKind
from streams.core import (
    Action,
    DeleteContact,
    DeleteStudent,
    MalformedRecordError,
    Skip,
    UpsertContact,
    classify,
    classify_snapshot,
)
from streams.processor.actions import (
    Context,
    Emitted,
    delete_contact,
    delete_student,
    reconcile,
    upsert_contact,
)
from streams.processor.dead_letters import dead_letter
from streams.processor.overlay import Overlay
from streams.processor.store import DistrictProgress, StateStore


@dataclass(frozen=True, slots=True)
class Position:
    """Where a raw record sits on the raw topic."""

    partition: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Outputs:
    """What processing one raw record gives, in the order to send it.

    ``states`` are (pair key, value) for the compacted current-state topic, None being a
    tombstone. ``skipped`` names the record type of a record with nothing to do, for
    counting. ``warnings`` are for the log (IDs only, never personal data): odd but harmless
    records, such as a sync completed that is not the one in progress.
    """

    changes: tuple[PrivilegeChange, ...] = ()
    states: tuple[tuple[bytes, PrivilegeState | None], ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    skipped: str | None = None
    replayed: bool = False
    warnings: tuple[str, ...] = ()


def process(
    record: RawCleverRecord,
    *,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str = "",
    original_value: bytes | None = None,
) -> Outputs:
    """Apply one raw record to ``store`` and say what it changed.

    A record that cannot be read leaves the store as it was (but for the district's
    position, so a replay skips it too) and gives one dead letter. ``original_value`` is
    the record's bytes as read, kept whole on a dead letter; without it, the dead letter
    carries the record re-encoded.
    """
    district_id = record.district_id
    progress = store.get_district(district_id) or DistrictProgress(district_id=district_id)
    if progress.has_applied(position.partition, position.offset):
        return Outputs(replayed=True)
    progress = replace(progress, last_partition=position.partition, last_offset=position.offset)
    overlay = Overlay(store)
    run = _Run(store=overlay, progress=progress, now=now)
    failure = run.apply(record)
    if failure is not None:
        store.put_district(progress)
        letter = dead_letter(
            failure,
            record=record,
            position=position,
            now=now,
            source_topic=source_topic,
            original_value=original_value,
        )
        return Outputs(dead_letters=(letter,))
    if run.skipped is not None:
        run.progress = run.progress.count_skip(run.skipped)
    overlay.put_district(run.progress)
    overlay.commit()
    return Outputs(
        changes=tuple(run.out.changes),
        states=tuple(run.out.states),
        skipped=run.skipped,
        warnings=tuple(run.warnings),
    )


def process_bytes(
    value: bytes | None,
    *,
    key: bytes | None,
    position: Position,
    store: StateStore,
    now: datetime,
    source_topic: str = "",
    codec: Codec | None = None,
) -> Outputs:
    """``process`` for a raw record as read from Kafka; bytes that are no record are a dead
    letter (and, when the key names a district, move its position like any record)."""
    try:
        # No value (a tombstone) decodes like empty bytes: not a record.
        record = (codec or default_codec()).decode(value or b"", RawCleverRecord)
    except DecodeError as error:
        district_id = _district_of(key)
        if district_id is not None:
            progress = store.get_district(district_id) or DistrictProgress(district_id=district_id)
            if progress.has_applied(position.partition, position.offset):
                return Outputs(replayed=True)
            store.put_district(
                replace(progress, last_partition=position.partition, last_offset=position.offset)
            )
        letter = dead_letter(
            error,
            position=position,
            now=now,
            source_topic=source_topic,
            district_id=district_id,
            original_key=key,
            original_value=value,
        )
        return Outputs(dead_letters=(letter,))
    return process(
        record,
        position=position,
        store=store,
        now=now,
        source_topic=source_topic,
        original_value=value,
    )


def _district_of(key: bytes | None) -> str | None:
    try:
        return parse_district_key(key)
    except DecodeError:
        return None


class _Run:
    """The processing of one record: the district's progress as it moves, and what it gives."""

    def __init__(self, *, store: StateStore, progress: DistrictProgress, now: datetime) -> None:
        self.store = store
        self.progress = progress
        self.now = now
        self.out = Emitted()
        self.skipped: str | None = None
        self.warnings: list[str] = []

    def apply(self, record: RawCleverRecord) -> Exception | None:
        """Apply ``record``; the error if it cannot be read (a ValueError is a JSON error,
        or an ID no key can hold), with the store then to be left as it was."""
        kind = record.kind
        try:
            if kind is RawRecordKind.EVENT:
                self._event(record)
            elif kind is RawRecordKind.SNAPSHOT:
                self._snapshot(record)
            elif kind is RawRecordKind.SYNC_STARTED:
                self._sync_started(record)
            elif kind is RawRecordKind.SYNC_COMPLETED:
                self._sync_completed(record)
            else:
                self.skipped = str(kind)
        except (MalformedRecordError, ValueError, RecursionError) as error:
            return error
        return None

    def _event(self, record: RawCleverRecord) -> None:
        if record.event_type is not None:
            cheap = _skip_unread(record.event_type)
            if cheap is not None:
                self.skipped = cheap.record_type or cheap.reason
                return
        event = _object(_load(record), "an event")
        event_type = record.event_type if record.event_type is not None else event.get("type")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        actions = classify(event_type, obj)
        event_id = record.event_id or _text(event.get("id"))
        cause = Cause(
            kind=CauseKind.CLEVER_EVENT,
            clever_event_id=event_id,
            clever_event_type=event_type if isinstance(event_type, str) else None,
        )
        context = Context(
            district_id=record.district_id,
            cause=cause,
            occurred_at=record.created_at,
            now=self.now,
            event_id=event_id,
        )
        self._actions(actions, context)

    def _snapshot(self, record: RawCleverRecord) -> None:
        actions = classify_snapshot(record.record_type, _load(record))
        sync_id = record.sync_id
        if sync_id is None or sync_id != self.progress.sync_id:
            self.warnings.append(
                f"snapshot record of sync {sync_id} while sync {self.progress.sync_id} is open"
            )
        context = Context(
            district_id=record.district_id,
            cause=Cause(kind=CauseKind.SYNC_SNAPSHOT, sync_id=sync_id),
            occurred_at=record.created_at,
            now=self.now,
            sync_id=sync_id,
        )
        self._actions(actions, context)

    def _sync_started(self, record: RawCleverRecord) -> None:
        open_sync = self.progress.sync_id
        if open_sync is not None and open_sync != record.sync_id:
            self.warnings.append(f"sync {open_sync} abandoned for sync {record.sync_id}")
        self.progress = replace(self.progress, sync_id=record.sync_id)

    def _sync_completed(self, record: RawCleverRecord) -> None:
        sync_id = record.sync_id
        if sync_id is None or sync_id != self.progress.sync_id:
            # Reconciling against a sync whose snapshot was not (all) seen would revoke
            # contacts that exist: better to keep a stale pair until the next sync.
            self.warnings.append(
                f"sync {sync_id} completed while sync {self.progress.sync_id} is open: "
                "not reconciled"
            )
            return
        context = Context(
            district_id=record.district_id,
            cause=Cause(kind=CauseKind.SYNC_RECONCILIATION, sync_id=sync_id),
            occurred_at=record.created_at,
            now=self.now,
        )
        reconcile(self.store, sync_id, context, self.out)
        self.progress = replace(self.progress, sync_id=None)

    def _actions(self, actions: tuple[Action, ...], context: Context) -> None:
        for action in actions:
            if isinstance(action, UpsertContact):
                if action.contact.skipped_entries:
                    self.warnings.append(
                        f"contact {action.contact.contact_id}: "
                        f"{action.contact.skipped_entries} unreadable relationship entries skipped"
                    )
                self.progress = upsert_contact(
                    self.store, self.progress, action.contact, context, self.out
                )
            elif isinstance(action, DeleteContact):
                self.progress = delete_contact(
                    self.store, self.progress, action.contact_id, context, self.out
                )
            elif isinstance(action, DeleteStudent):
                delete_student(self.store, action.student_id, context, self.out)
            elif isinstance(action, Skip):
                self.skipped = action.record_type or action.reason
            # UpsertStudent: a student's pairs come from its contacts; nothing to keep.


def _skip_unread(event_type: str) -> Skip | None:
    """The skip of an event whose type alone says it is of no interest, without parsing it.

    ``classify`` decides other record types from the type string and never reads the object;
    for contacts and students it needs one, and refuses a missing one, which says "parse".
    """
    try:
        actions = classify(event_type, None)
    except MalformedRecordError:
        return None
    first = actions[0]
    return first if isinstance(first, Skip) else None


def _load(record: RawCleverRecord) -> Any:
    if record.clever_json is None:
        raise MalformedRecordError(f"a {record.kind} record without clever_json")
    return json.loads(record.clever_json)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedRecordError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
