"""How each kind of raw record is applied: events and snapshot records through the core's
actions, and the control records that open and close a sync.

One ``RecordRun`` per record: it holds the district's progress as the record moves it, and
what the record gives. It raises nothing a record can cause; ``apply`` returns the error of
a record that cannot be read, and the caller discards the run's writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from schemas.records import Cause, RawCleverRecord
from schemas.values import CauseKind, RawRecordKind
from streams.core import (
    Action,
    DeleteContact,
    DeleteStudent,
    MalformedRecordError,
    Skip,
    UpsertContact,
    UpsertStudent,
    classify,
    classify_snapshot,
    skip_of_type,
)
from streams.processor.actions import (
    delete_contact,
    delete_student,
    reconcile,
    upsert_contact,
    upsert_student,
)
from streams.processor.emit import Context, Emitted
from streams.processor.events import advance, applied, event_day, synced
from streams.processor.exceptions import StaleEventError
from streams.processor.store import DistrictProgress, StateStore


class RecordRun:
    """The processing of one record: the district's progress as it moves, and what it gives."""

    def __init__(self, *, store: StateStore, progress: DistrictProgress, now: datetime) -> None:
        self.store = store
        self.progress = progress
        self.now = now
        self.out = Emitted()
        self.skipped: str | None = None
        #: The ID of an event applied before: this copy changed nothing.
        self.repeated: str | None = None
        self.warnings: list[str] = []

    def apply(self, record: RawCleverRecord) -> Exception | None:
        """Apply ``record``; the error if it cannot be read (a ValueError is a JSON error,
        or an ID no key can hold) or judged (``StaleEventError``), with the store then to be
        left as it was."""
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
        except (MalformedRecordError, StaleEventError, ValueError, RecursionError) as error:
            return error
        return None

    def _event(self, record: RawCleverRecord) -> None:
        if record.event_type is not None:
            # Records of no interest are skipped by their type alone, without parsing them.
            cheap = skip_of_type(record.event_type)
            if cheap is not None:
                self.skipped = cheap.record_type or cheap.reason
                return
        event = _object(_load(record), "an event")
        event_type = record.event_type if record.event_type is not None else event.get("type")
        data = event.get("data")
        # ``type() is dict`` first: JSON gives dicts, and the ABC check is slower.
        obj = data.get("object") if type(data) is dict or isinstance(data, Mapping) else None
        actions = classify(event_type, obj)
        event_id = record.event_id or _text(event.get("id"))
        # Only the IDs of events that act are remembered: a copy of any other changes
        # nothing anyway, and is skipped again.
        memo = event_id if any(not isinstance(action, Skip) for action in actions) else None
        day = 0
        if memo is not None:
            if applied(self.store, self.progress, record, memo):
                self.repeated = memo
                return
            day = event_day(record)
            self.progress = advance(self.store, self.progress, event_id=memo, day=day)
        cause = Cause(
            kind=CauseKind.CLEVER_EVENT,
            clever_event_id=event_id,
            clever_event_type=event_type if isinstance(event_type, str) else None,
        )
        context = Context(
            district_id=record.district_id,
            cause=cause,
            record_number=self.progress.record_count,
            open_sync_id=self.progress.sync_id,
            occurred_at=record.created_at,
            now=self.now,
            event_id=event_id,
        )
        self._actions(actions, context)
        if memo is not None:
            self.store.remember_event(record.district_id, memo, day)

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
            record_number=self.progress.record_count,
            open_sync_id=self.progress.sync_id,
            occurred_at=record.created_at,
            now=self.now,
            sync_id=sync_id,
        )
        self._actions(actions, context)

    def _sync_started(self, record: RawCleverRecord) -> None:
        open_sync = self.progress.sync_id
        if open_sync is not None and open_sync != record.sync_id:
            self.warnings.append(f"sync {open_sync} abandoned for sync {record.sync_id}")
        self.progress = replace(synced(self.progress, record), sync_id=record.sync_id)

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
            record_number=self.progress.record_count,
            open_sync_id=self.progress.sync_id,
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
            elif isinstance(action, UpsertStudent):
                upsert_student(self.store, action.student_id, context, self.out)
            elif isinstance(action, DeleteStudent):
                delete_student(self.store, action.student_id, context, self.out)
            elif isinstance(action, Skip):
                self.skipped = action.record_type or action.reason


def _load(record: RawCleverRecord) -> Any:
    if record.clever_json is None:
        raise MalformedRecordError(f"a {record.kind} record without clever_json")
    return json.loads(record.clever_json)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise MalformedRecordError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
