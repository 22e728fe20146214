"""One contact's pair changes, made into what the processor sends: privilege changes, current
states, and the contact's grants kept in step with them.

Every change goes through ``emit``: a pair's change record, its state record and its grant
(time, reissue label, last change) move together, so the grants table is exactly the set of
live pairs, which the rules of ``docs/topics.md`` read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from schemas.keys import PAIR_SEPARATOR, pair_key
from schemas.records import Cause, Privilege, PrivilegeChange, PrivilegeState
from schemas.values import ChangeKind
from streams.core import PairChange, to_privilege_changes
from streams.processor.store import ContactGrants, PairGrant, StateStore

#: Within one contact, revokes first (a revoke never waits), then changes, then grants.
_KIND_ORDER = {ChangeKind.REVOKED: 0, ChangeKind.CHANGED: 1, ChangeKind.GRANTED: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What one raw record contributes to everything it changes."""

    district_id: str
    cause: Cause
    #: The record's number in its district's stream (``DistrictProgress.record_count``).
    record_number: int
    occurred_at: datetime | None
    now: datetime
    #: The Clever event applied (None for sync records), stamped on contacts it writes.
    event_id: str | None = None
    #: The sync whose snapshot holds the record, stamped on what it shows.
    sync_id: str | None = None
    #: The district's open sync, if any: until it ends, a pair that was not live becomes
    #: live only once its snapshot has shown both the contact and the student.
    open_sync_id: str | None = None

    def shown(self, last_sync_id: str | None) -> bool:
        """Whether a contact or student last shown by ``last_sync_id`` may gain a pair now."""
        return self.open_sync_id is None or last_sync_id == self.open_sync_id


@dataclass(slots=True)
class Emitted:
    """The changes and state-topic updates of one raw record, in emission order."""

    changes: list[PrivilegeChange] = field(default_factory=list)
    states: list[tuple[bytes, PrivilegeState | None]] = field(default_factory=list)


def emit(
    store: StateStore,
    contact_id: str,
    pair_changes: Sequence[PairChange],
    context: Context,
    out: Emitted,
    *,
    reissue: str | None = None,
    restated: Sequence[tuple[str, Privilege]] = (),
) -> None:
    """Record ``pair_changes`` of one contact, and its ``restated`` pairs (a cosmetic
    rewrite: a new state, no change), with the contact's grants in step."""
    if not pair_changes and not restated:
        return
    district_id = context.district_id
    ordered = (
        pair_changes
        if len(pair_changes) < 2
        else sorted(pair_changes, key=lambda change: (_KIND_ORDER[change.kind], change.student_id))
    )
    records = to_privilege_changes(
        ordered,
        district_id=district_id,
        contact_id=contact_id,
        cause=context.cause,
        record_number=context.record_number,
        first_ordinal=len(out.changes),
        occurred_at=context.occurred_at,
        emitted_at=context.now,
        reissued_from_contact_id=reissue,
    )
    held = store.get_grants(district_id, contact_id)
    grants = {grant.student_id: grant for grant in (held.grants if held is not None else ())}
    key_of = _pair_keys(district_id, contact_id)
    for record in records:
        student_id = record.student_id
        if record.after is None:
            grants.pop(student_id, None)
            out.states.append((key_of(student_id), None))
        else:
            grant = grants.get(student_id)
            if record.kind is ChangeKind.GRANTED or grant is None:
                grant = PairGrant(
                    student_id=student_id,
                    granted_at=context.now,
                    reissued_from_contact_id=record.reissued_from_contact_id,
                    last_change_id=record.change_id,
                )
            else:
                grant = replace(grant, last_change_id=record.change_id)
            grants[student_id] = grant
            out.states.append(
                (key_of(student_id), _state(record.after, grant, context, contact_id))
            )
        out.changes.append(record)
    for student_id, privilege in restated:
        grant = grants.get(student_id)
        if grant is not None:
            out.states.append((key_of(student_id), _state(privilege, grant, context, contact_id)))
    if records:
        store.put_grants(
            ContactGrants(
                district_id=district_id,
                contact_id=contact_id,
                grants=tuple(grants[student_id] for student_id in sorted(grants)),
            )
        )


def _state(
    privilege: Privilege, grant: PairGrant, context: Context, contact_id: str
) -> PrivilegeState:
    return PrivilegeState(
        district_id=context.district_id,
        contact_id=contact_id,
        student_id=grant.student_id,
        privilege=privilege,
        granted_at=grant.granted_at,
        last_change_id=grant.last_change_id,
        reissued_from_contact_id=grant.reissued_from_contact_id,
        updated_at=context.now,
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
