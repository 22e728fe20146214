"""The core's actions applied to the store: a contact upserted or deleted, a student deleted,
a sync reconciled; each gives the privilege changes and current states it causes.

Every change goes through ``_emit``, which keeps the three views of a pair in step: the
contact's snapshot (written by the caller), the student-to-contacts index, and the pair's
grant (time and reissue label). That is what lets a student deletion, or a sync's end, find
every pair without scanning.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from schemas.keys import PAIR_SEPARATOR, pair_key
from schemas.records import Cause, ContactSnapshot, PrivilegeChange, PrivilegeState
from schemas.values import ChangeKind
from streams.core import (
    ContactRecord,
    PairChange,
    contact_from_snapshot,
    diff,
    reissued_from,
    revoke_all,
    to_privilege_changes,
)
from streams.processor.store import ContactGrants, DistrictProgress, PairGrant, StateStore

#: Within one contact, revokes first (a revoke never waits), then changes, then grants.
_KIND_ORDER = {ChangeKind.REVOKED: 0, ChangeKind.CHANGED: 1, ChangeKind.GRANTED: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What one raw record contributes to everything it changes."""

    district_id: str
    cause: Cause
    occurred_at: datetime | None
    now: datetime
    #: The Clever event applied (None for sync records), stamped on contacts it writes.
    event_id: str | None = None
    #: The sync whose snapshot holds the record, stamped on contacts it writes.
    sync_id: str | None = None


@dataclass(slots=True)
class Emitted:
    """The changes and state-topic updates of one raw record, in emission order."""

    changes: list[PrivilegeChange] = field(default_factory=list)
    states: list[tuple[bytes, PrivilegeState | None]] = field(default_factory=list)


def upsert_contact(
    store: StateStore,
    progress: DistrictProgress,
    contact: ContactRecord,
    context: Context,
    out: Emitted,
) -> DistrictProgress:
    """A contact as it now is: diff against what is held, write it if anything differs.

    A contact not held before may be a re-creation of a recently deleted one; its grants
    then say so, and the deleted contact leaves the window so it labels one contact only.
    """
    district_id = context.district_id
    # The raw record's district is the token's: it wins over what the JSON says.
    if contact.district_id != district_id:
        contact = replace(contact, district_id=district_id)
    stored = store.get_contact(district_id, contact.contact_id)
    old = contact_from_snapshot(stored).relationships if stored is not None else {}
    reissue = None
    if stored is None:
        # Back under its own ID, a deleted contact was not reissued under another.
        progress = progress.forget_deleted(contact.contact_id)
        # Only a contact without an SIS ID, with students, can be a reissue (see
        # reissued_from): for any other, the window is not read back at all.
        if contact.sis_id is None and contact.relationships and progress.recently_deleted:
            window = [(cid, contact_from_snapshot(snap)) for cid, snap in progress.recently_deleted]
            reissue = reissued_from(contact, window)
            if reissue is not None:
                progress = progress.forget_deleted(reissue)
    last_sync_id = context.sync_id or (stored.last_sync_id if stored is not None else None)
    snapshot = contact.to_snapshot(
        district_id=district_id,
        updated_at=context.now,
        last_event_id=context.event_id,
        last_sync_id=last_sync_id,
    )
    if stored is None or _differs(stored, snapshot):
        store.put_contact(snapshot)
    _emit(store, contact.contact_id, diff(old, contact.relationships), context, out, reissue)
    return progress


def delete_contact(
    store: StateStore,
    progress: DistrictProgress,
    contact_id: str,
    context: Context,
    out: Emitted,
) -> DistrictProgress:
    """A contact is gone: revoke its pairs at once, and remember it for a re-creation."""
    stored = store.get_contact(context.district_id, contact_id)
    if stored is None:
        return progress
    forget_contact(store, stored, context, out)
    if stored.sis_id is None and stored.relationships:
        progress = progress.remember_deleted(stored)
    return progress


def forget_contact(
    store: StateStore, stored: ContactSnapshot, context: Context, out: Emitted
) -> None:
    """Revoke every pair of ``stored`` and drop it from the store."""
    store.delete_contact(context.district_id, stored.contact_id)
    pairs = contact_from_snapshot(stored).relationships
    _emit(store, stored.contact_id, revoke_all(pairs), context, out, None)


def delete_student(store: StateStore, student_id: str, context: Context, out: Emitted) -> None:
    """A student is gone: revoke every pair naming them, contact by contact (sorted)."""
    district_id = context.district_id
    for contact_id in sorted(store.contacts_of_student(district_id, student_id)):
        stored = store.get_contact(district_id, contact_id)
        before = contact_from_snapshot(stored).relationships.get(student_id) if stored else None
        if stored is None or before is None:
            continue
        kept = tuple(entry for entry in stored.relationships if entry.student_id != student_id)
        store.put_contact(
            replace(
                stored, relationships=kept, last_event_id=context.event_id, updated_at=context.now
            )
        )
        revoke = PairChange(ChangeKind.REVOKED, student_id, before, None)
        _emit(store, contact_id, [revoke], context, out, None)
    # Whatever the index said, nothing names the student any more.
    store.set_contacts_of_student(district_id, student_id, frozenset())


def reconcile(store: StateStore, sync_id: str, context: Context, out: Emitted) -> None:
    """At a sync's end: every contact its snapshot did not hold is revoked and forgotten."""
    district_id = context.district_id
    for contact_id in sorted(store.contact_ids(district_id)):
        stored = store.get_contact(district_id, contact_id)
        if stored is not None and stored.last_sync_id != sync_id:
            forget_contact(store, stored, context, out)


#: The fields of a contact that are more than the bookkeeping of its last event and write.
_CONTENT = operator.attrgetter(
    *(
        snapshot_field.name
        for snapshot_field in fields(ContactSnapshot)
        if snapshot_field.name not in {"last_event_id", "updated_at"}
    )
)


def _differs(stored: ContactSnapshot, snapshot: ContactSnapshot) -> bool:
    """Whether anything but the bookkeeping of the last event and write time changed.

    A repeat of an event under a new event ID (Clever's way) must not even write the store.
    """
    return bool(_CONTENT(stored) != _CONTENT(snapshot))


def _emit(
    store: StateStore,
    contact_id: str,
    pair_changes: Sequence[PairChange],
    context: Context,
    out: Emitted,
    reissue: str | None,
) -> None:
    """Record ``pair_changes`` of one contact: changes, states, index and grants in step."""
    if not pair_changes:
        return
    district_id = context.district_id
    ordered = (
        pair_changes
        if len(pair_changes) == 1
        else sorted(pair_changes, key=lambda change: (_KIND_ORDER[change.kind], change.student_id))
    )
    records = to_privilege_changes(
        ordered,
        district_id=district_id,
        contact_id=contact_id,
        cause=context.cause,
        occurred_at=context.occurred_at,
        emitted_at=context.now,
        reissued_from_contact_id=reissue,
    )
    held = store.get_grants(district_id, contact_id)
    grants = {grant.student_id: grant for grant in (held.grants if held is not None else ())}
    key_of = _pair_keys(district_id, contact_id)
    for record in records:
        student_id = record.student_id
        key = key_of(student_id)
        if record.after is None:
            grants.pop(student_id, None)
            contacts = store.contacts_of_student(district_id, student_id)
            store.set_contacts_of_student(district_id, student_id, contacts - {contact_id})
            out.states.append((key, None))
        else:
            if record.kind is ChangeKind.GRANTED or student_id not in grants:
                grants[student_id] = PairGrant(
                    student_id=student_id,
                    granted_at=context.now,
                    reissued_from_contact_id=record.reissued_from_contact_id,
                )
                contacts = store.contacts_of_student(district_id, student_id)
                store.set_contacts_of_student(district_id, student_id, contacts | {contact_id})
            grant = grants[student_id]
            out.states.append(
                (
                    key,
                    PrivilegeState(
                        district_id=district_id,
                        contact_id=contact_id,
                        student_id=student_id,
                        privilege=record.after,
                        granted_at=grant.granted_at,
                        last_change_id=record.change_id,
                        reissued_from_contact_id=grant.reissued_from_contact_id,
                        updated_at=context.now,
                    ),
                )
            )
        out.changes.append(record)
    store.put_grants(
        ContactGrants(
            district_id=district_id,
            contact_id=contact_id,
            grants=tuple(grants[student_id] for student_id in sorted(grants)),
        )
    )


def _pair_keys(district_id: str, contact_id: str) -> Callable[[str], bytes]:
    """``pair_key`` of one contact's students: the checked prefix encoded once.

    A district or contact ID that a key cannot hold goes to ``pair_key`` itself, so the
    error (and the dead letter that quotes it) is the same.
    """
    if not district_id or not contact_id or PAIR_SEPARATOR in district_id + contact_id:
        return lambda student_id: pair_key(district_id, contact_id, student_id)
    prefix = f"{district_id}{PAIR_SEPARATOR}{contact_id}{PAIR_SEPARATOR}"

    def key_of(student_id: str) -> bytes:
        if not student_id or PAIR_SEPARATOR in student_id:
            return pair_key(district_id, contact_id, student_id)
        return (prefix + student_id).encode("utf-8")

    return key_of
