"""A contact's old live pairs against its new ones: the grants, revokes and changes between
them, and the cosmetic rewrites that change no privilege.

The whole new object of an update is compared with the whole state held, never only
Clever's ``previous_attributes``: those name changed fields but not which student a changed
``student_relationships`` entry was for. Equal states give no changes, which is what makes a
change Clever repeats under a new event ID emit nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.identity import change_id
from schemas.records import Cause, Privilege, PrivilegeChange
from schemas.values import ChangeKind
from streams.core.normalise import equivalent


@dataclass(frozen=True, slots=True)
class PairChange:
    """One (contact, student) pair's change, before the contact and cause are attached.

    GRANTED has only ``after``, REVOKED only ``before``, CHANGED both, and they differ.
    """

    kind: ChangeKind
    student_id: str
    before: Privilege | None
    after: Privilege | None

    def __post_init__(self) -> None:
        expected = {
            ChangeKind.GRANTED: self.before is None and self.after is not None,
            ChangeKind.REVOKED: self.before is not None and self.after is None,
            ChangeKind.CHANGED: None not in (self.before, self.after) and self.before != self.after,
        }
        if not expected.get(self.kind, False):
            raise ValueError(
                f"{self.kind} of {self.student_id!r} cannot go from {self.before} to {self.after}"
            )


def diff(old: Mapping[str, Privilege], new: Mapping[str, Privilege]) -> list[PairChange]:
    """The changes from ``old`` to ``new`` live privileges by student ID, sorted by student ID.

    A student only in ``new`` is GRANTED, only in ``old`` REVOKED, in both with privileges
    that are not ``equivalent`` CHANGED. A privilege rewritten without changing its meaning
    (``parent`` as ``Parent``) is no change: ``restated`` gives those.
    """
    changes: list[PairChange] = []
    for student_id in sorted({*old, *new}):
        before, after = old.get(student_id), new.get(student_id)
        if before == after:
            continue
        if before is None:
            kind = ChangeKind.GRANTED
        elif after is None:
            kind = ChangeKind.REVOKED
        elif equivalent(before, after):
            continue
        else:
            kind = ChangeKind.CHANGED
        changes.append(PairChange(kind, student_id, before, after))
    return changes


def restated(
    old: Mapping[str, Privilege], new: Mapping[str, Privilege]
) -> list[tuple[str, Privilege]]:
    """The pairs live on both sides whose privilege was rewritten without changing: Clever's
    text differs, the meaning does not (``equivalent``). Sorted by student ID, with the new
    privilege: the state topic keeps Clever's current text, the change stream says nothing."""
    return [
        (student_id, after)
        for student_id, after in sorted(new.items())
        if (before := old.get(student_id)) is not None
        and before != after
        and equivalent(before, after)
    ]


def revoke_all(pairs: Mapping[str, Privilege]) -> list[PairChange]:
    """The revokes of every pair held (a contact deleted), sorted by student ID."""
    return diff(pairs, {})


def apply(pairs: Mapping[str, Privilege], changes: Sequence[PairChange]) -> dict[str, Privilege]:
    """``pairs`` with ``changes`` applied in order: each pair ends as its change's ``after``."""
    result = dict(pairs)
    for change in changes:
        if change.after is None:
            result.pop(change.student_id, None)
        else:
            result[change.student_id] = change.after
    return result


def to_privilege_changes(
    changes: Sequence[PairChange],
    *,
    district_id: str,
    contact_id: str,
    cause: Cause,
    record_number: int,
    first_ordinal: int,
    occurred_at: datetime | None,
    emitted_at: datetime,
    reissued_from_contact_id: str | None = None,
) -> list[PrivilegeChange]:
    """The contract's records of ``changes`` for one contact, each with its deterministic ID.

    ``record_number`` is the causing raw record's number in its district's stream, and the
    changes take the ordinals from ``first_ordinal`` on among that record's changes: no two
    changes share both, so their IDs differ by construction. ``reissued_from_contact_id``
    goes on grants only: it says which deleted contact a grant replaces, which means nothing
    on a revoke or a change.
    """
    return [
        PrivilegeChange(
            change_id=change_id(
                district_id=district_id,
                contact_id=contact_id,
                student_id=change.student_id,
                cause=cause,
                record_number=record_number,
                ordinal=first_ordinal + ordinal,
            ),
            kind=change.kind,
            district_id=district_id,
            contact_id=contact_id,
            student_id=change.student_id,
            before=change.before,
            after=change.after,
            cause=cause,
            reissued_from_contact_id=(
                reissued_from_contact_id if change.kind is ChangeKind.GRANTED else None
            ),
            occurred_at=occurred_at,
            emitted_at=emitted_at,
        )
        for ordinal, change in enumerate(changes)
    ]
