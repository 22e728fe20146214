"""What the poller delivers of Clever, fed to the reference model and to the pipeline, and
what each makes of it, in the one form the differential tests compare.

The model takes a ``Delivery``; the processor takes the raw record the poller's own mapping
makes of it (``raw_record``), and through Kafka the deliveries are read back from the raw
topic (``from_raw_datum``). Changes come back as the model's ``Change``: from a decoded
``PrivilegeChange`` (``from_record``) or from a datum any Avro reader gives
(``from_change_datum``), so the comparison itself shares nothing with the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.mapping import (
    event_record,
    snapshot_record,
    sync_completed_record,
    sync_started_record,
)
from schemas.records import Privilege as RecordPrivilege
from schemas.records import PrivilegeChange, RawCleverRecord
from schemas.values import RecordSource
from tests.model.reference import Change, Pair, Privilege, ReferenceModel


@dataclass(frozen=True, slots=True)
class Delivery:
    """One thing the poller hands on: a sync's control record, a snapshot record, an event."""

    kind: str  # sync_started | snapshot | sync_completed | event
    sync_id: str | None = None
    record_type: str | None = None
    #: The snapshot's object, or the whole event.
    obj: dict[str, Any] | None = None
    #: A sync's bookmark: the newest event when it started.
    bookmark: str | None = None

    @classmethod
    def sync_started(cls, sync_id: str, bookmark: str | None) -> Delivery:
        return cls("sync_started", sync_id, bookmark=bookmark)

    @classmethod
    def snapshot(cls, sync_id: str, record_type: str, obj: dict[str, Any]) -> Delivery:
        return cls("snapshot", sync_id, record_type, obj)

    @classmethod
    def sync_completed(cls, sync_id: str) -> Delivery:
        return cls("sync_completed", sync_id)

    @classmethod
    def event(cls, event: dict[str, Any]) -> Delivery:
        return cls("event", obj=event)

    def __repr__(self) -> str:
        if self.kind == "event" and self.obj is not None:
            return f"event({self.obj.get('id')} {self.obj.get('type')})"
        if self.kind == "snapshot" and self.obj is not None:
            return f"snapshot({self.sync_id} {self.obj.get('id')})"
        return f"{self.kind}({self.sync_id})"


def feed(model: ReferenceModel, delivery: Delivery) -> list[Change]:
    """The model's changes for one delivery."""
    if delivery.kind == "sync_started":
        return model.sync_started(delivery.sync_id or "", delivery.bookmark)
    if delivery.kind == "snapshot":
        return model.snapshot(delivery.sync_id or "", delivery.record_type or "", delivery.obj)
    if delivery.kind == "sync_completed":
        return model.sync_completed(delivery.sync_id or "")
    return model.event(delivery.obj)


def raw_record(
    delivery: Delivery, *, district_id: str, api_version: str, fetched_at: datetime
) -> RawCleverRecord:
    """The raw-stream record the poller makes of ``delivery`` (its own mapping functions)."""
    sync_id = delivery.sync_id or ""
    if delivery.kind == "event":
        return event_record(
            delivery.obj, district_id=district_id, api_version=api_version, fetched_at=fetched_at
        )
    if delivery.kind == "snapshot":
        return snapshot_record(
            delivery.obj, district_id=district_id, api_version=api_version,
            record_type=delivery.record_type or "", sync_id=sync_id, source=RecordSource.SYNC,
            fetched_at=fetched_at,
        )  # fmt: skip
    if delivery.kind == "sync_started":
        return sync_started_record(
            district_id=district_id, api_version=api_version, sync_id=sync_id,
            source=RecordSource.SYNC, bookmark_event_id=delivery.bookmark, fetched_at=fetched_at,
        )  # fmt: skip
    return sync_completed_record(
        district_id=district_id, api_version=api_version, sync_id=sync_id,
        source=RecordSource.SYNC, snapshot_records=0, fetched_at=fetched_at,
    )  # fmt: skip


def from_raw_datum(datum: Mapping[str, Any]) -> Delivery | None:
    """The delivery of a raw record read by any Avro reader (a dict of the released schema),
    or None for a kind the model has no use for."""
    kind, sync_id = datum["kind"], datum["sync_id"]
    if kind == "SYNC_STARTED":
        return Delivery.sync_started(sync_id, datum["event_id"])
    if kind == "SYNC_COMPLETED":
        return Delivery.sync_completed(sync_id)
    obj = json.loads(datum["clever_json"])
    if kind == "SNAPSHOT":
        return Delivery.snapshot(sync_id, datum["record_type"], obj)
    return Delivery.event(obj) if kind == "EVENT" else None


def from_record(change: PrivilegeChange) -> Change:
    """A decoded ``PrivilegeChange`` as the model's ``Change``."""
    cause = change.cause
    return Change(
        kind=str(change.kind),
        contact_id=change.contact_id,
        student_id=change.student_id,
        before=_privilege(change.before),
        after=_privilege(change.after),
        cause=(str(cause.kind), cause.clever_event_id or cause.sync_id),
    )


def _privilege(privilege: RecordPrivilege | None) -> Privilege | None:
    if privilege is None:
        return None
    return Privilege(
        relationship=str(privilege.relationship),
        relationship_raw=privilege.relationship_raw,
        contact_type=str(privilege.contact_type),
        contact_type_raw=privilege.contact_type_raw,
    )


def from_change_datum(datum: Mapping[str, Any]) -> Change:
    """A ``PrivilegeChange`` read by any Avro reader (a dict) as the model's ``Change``."""
    cause = datum["cause"]
    return Change(
        kind=datum["kind"],
        contact_id=datum["contact_id"],
        student_id=datum["student_id"],
        before=privilege_of_datum(datum["before"]),
        after=privilege_of_datum(datum["after"]),
        cause=(cause["kind"], cause["clever_event_id"] or cause["sync_id"]),
    )


def privilege_of_datum(datum: Mapping[str, Any] | None) -> Privilege | None:
    """A ``Privilege`` read by any Avro reader as the model's."""
    if datum is None:
        return None
    return Privilege(
        relationship=datum["relationship"],
        relationship_raw=datum["relationship_raw"],
        contact_type=datum["contact_type"],
        contact_type_raw=datum["contact_type_raw"],
    )


Step = tuple[str, Privilege | None, Privilege | None, tuple[str, str | None]]


def per_pair(changes: Iterable[Change]) -> dict[Pair, list[Step]]:
    """Each pair's changes in order: kind, before, after and cause."""
    found: dict[Pair, list[Step]] = {}
    for change in changes:
        step = (change.kind, change.before, change.after, change.cause)
        found.setdefault((change.contact_id, change.student_id), []).append(step)
    return found


def differences(
    expected: dict[Pair, list[Step]], actual: dict[Pair, list[Step]], *, limit: int = 5
) -> list[str]:
    """The pairs whose change sequences differ, readably (the first ``limit``)."""
    lines = []
    for pair in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(pair, []), actual.get(pair, [])
        if want != got:
            lines.append(f"{pair}:\n  model:    {want}\n  pipeline: {got}")
    return lines[:limit]
