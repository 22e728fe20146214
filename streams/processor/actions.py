"""The core's actions applied to the store: contacts and students upserted or deleted, a sync
reconciled; each gives the privilege changes and current states it causes.

A pair is live while its contact lists the student and the student exists (``docs/topics.md``),
and the grants table holds exactly the live pairs (``streams.processor.emit``). A contact's
listing is stored whole, students that do not exist included, and each student's entry names
the contacts that list it: so a student's deletion revokes, and its creation grants, without a
scan. While a sync is open, a pair that was not live becomes live only once the sync's
snapshot has shown both its contact and its student.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace

from schemas.records import ContactSnapshot, Privilege
from schemas.values import ChangeKind
from streams.core import (
    ContactRecord,
    PairChange,
    contact_from_snapshot,
    diff,
    reissued_from,
    restated,
    revoke_all,
)
from streams.processor.emit import Context, Emitted, emit
from streams.processor.store import DistrictProgress, StateStore, StudentEntry


def upsert_contact(
    store: StateStore,
    progress: DistrictProgress,
    contact: ContactRecord,
    context: Context,
    out: Emitted,
) -> DistrictProgress:
    """A contact as it now is: its listing stored, its live pairs diffed against the held ones.

    A contact not held before may be a re-creation of a recently deleted one; its grants
    then say so, and the deleted contact leaves the window so it labels one contact only.
    """
    district_id = context.district_id
    # The raw record's district is the token's: it wins over what the JSON says.
    if contact.district_id != district_id:
        contact = replace(contact, district_id=district_id)
    contact_id = contact.contact_id
    stored = store.get_contact(district_id, contact_id)
    old_listing = contact_from_snapshot(stored).relationships if stored is not None else {}
    reissue = None
    if stored is None:
        # Back under its own ID, a deleted contact was not reissued under another.
        progress = progress.forget_deleted(contact_id)
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
    new_listing = contact.relationships
    if context.open_sync_id is None and stored is not None and old_listing == new_listing:
        # The same students listed alike, outside a sync: no pair can change.
        return progress
    _relist(store, district_id, contact_id, old_listing, new_listing)
    old = live_pairs(store, district_id, contact_id, old_listing)
    contact_shown = context.shown(last_sync_id)
    new = {
        student_id: privilege
        for student_id, privilege in new_listing.items()
        if student_id in old
        or (contact_shown and _may_grant(store, district_id, student_id, context))
    }
    emit(
        store, contact_id, diff(old, new), context, out,
        reissue=reissue, restated=restated(old, new),
    )  # fmt: skip
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
    """Revoke every live pair of ``stored`` and drop it from the store and the students."""
    district_id, contact_id = context.district_id, stored.contact_id
    listing = contact_from_snapshot(stored).relationships
    live = live_pairs(store, district_id, contact_id, listing)
    store.delete_contact(district_id, contact_id)
    _relist(store, district_id, contact_id, listing, {})
    emit(store, contact_id, revoke_all(live), context, out)


def upsert_student(store: StateStore, student_id: str, context: Context, out: Emitted) -> None:
    """A student exists: if it did not, the pairs of the contacts listing it are granted."""
    district_id = context.district_id
    held = store.get_student(district_id, student_id)
    entry = held or StudentEntry(district_id=district_id, student_id=student_id)
    shown = replace(entry, exists=True, last_sync_id=context.sync_id or entry.last_sync_id)
    if shown != held:
        store.put_student(shown)
    if entry.exists or not context.shown(shown.last_sync_id):
        return
    for contact_id in sorted(entry.listed_by):
        stored = store.get_contact(district_id, contact_id)
        if stored is None or not context.shown(stored.last_sync_id):
            continue  # while a sync is open, only a contact it has shown gains a pair
        privilege = contact_from_snapshot(stored).relationships.get(student_id)
        if privilege is not None:
            grant = PairChange(ChangeKind.GRANTED, student_id, None, privilege)
            emit(store, contact_id, [grant], context, out)


def delete_student(store: StateStore, student_id: str, context: Context, out: Emitted) -> None:
    """A student is gone: every live pair naming it is revoked, contact by contact (sorted).

    The contacts keep listing it, as Clever's records may: it is granted again if it
    comes back.
    """
    entry = store.get_student(context.district_id, student_id)
    if entry is None or not entry.exists:
        return
    _revoke_student(store, entry, context, out)


def reconcile(store: StateStore, sync_id: str, context: Context, out: Emitted) -> None:
    """At a sync's end: every contact and every student its snapshot did not hold is gone."""
    district_id = context.district_id
    for contact_id in sorted(store.contact_ids(district_id)):
        stored = store.get_contact(district_id, contact_id)
        if stored is not None and stored.last_sync_id != sync_id:
            forget_contact(store, stored, context, out)
    for student_id in sorted(store.student_ids(district_id)):
        entry = store.get_student(district_id, student_id)
        if entry is not None and entry.exists and entry.last_sync_id != sync_id:
            _revoke_student(store, entry, context, out)


def live_pairs(
    store: StateStore, district_id: str, contact_id: str, listing: Mapping[str, Privilege]
) -> dict[str, Privilege]:
    """The live pairs of a contact whose listing is ``listing``: its granted students."""
    grants = store.get_grants(district_id, contact_id)
    if grants is None:
        return {}
    return {
        grant.student_id: listing[grant.student_id]
        for grant in grants.grants
        if grant.student_id in listing
    }


def _may_grant(store: StateStore, district_id: str, student_id: str, context: Context) -> bool:
    """Whether a listed student may gain a pair it does not have: it exists, and, while a
    sync is open, the sync's snapshot has shown it."""
    entry = store.get_student(district_id, student_id)
    return entry is not None and entry.exists and context.shown(entry.last_sync_id)


def _revoke_student(store: StateStore, entry: StudentEntry, context: Context, out: Emitted) -> None:
    """Revoke every live pair of the student of ``entry``, and make it not exist."""
    district_id, student_id = context.district_id, entry.student_id
    store.put_student(replace(entry, exists=False, last_sync_id=None))
    for contact_id in sorted(entry.listed_by):
        stored = store.get_contact(district_id, contact_id)
        if stored is None:
            continue
        listing = contact_from_snapshot(stored).relationships
        before = live_pairs(store, district_id, contact_id, listing).get(student_id)
        if before is not None:
            revoke = PairChange(ChangeKind.REVOKED, student_id, before, None)
            emit(store, contact_id, [revoke], context, out)


def _relist(
    store: StateStore,
    district_id: str,
    contact_id: str,
    old: Iterable[str],
    new: Iterable[str],
) -> None:
    """Keep each student's ``listed_by`` in step with a contact's listing going old to new."""
    before, after = set(old), set(new)
    for student_id in sorted(before ^ after):
        entry = store.get_student(district_id, student_id) or StudentEntry(
            district_id=district_id, student_id=student_id
        )
        store.put_student(entry.listing(contact_id, listed=student_id in after))


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
