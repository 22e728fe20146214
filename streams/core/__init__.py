"""The pure core of the privilege stage: Clever records to per-student privileges, and diffs.

No I/O, no Kafka, no Faust: plain functions the processor wraps. Normalising messy SIS values
(``normalise``), reading contacts out of v3 users and v2.1 contacts (``contacts``), telling
what an event means (``classify``), diffing a contact's old and new live pairs into grants,
revokes and changes, cosmetic rewrites apart (``diff``, ``restated``), and linking a
re-created contact to the one it replaces (``reissue``).
"""

from __future__ import annotations

from streams.core.classify import (
    Action,
    DeleteContact,
    DeleteStudent,
    Skip,
    UpsertContact,
    UpsertStudent,
    classify,
    classify_snapshot,
    skip_of_type,
)
from streams.core.contacts import (
    ContactRecord,
    contact_from_snapshot,
    contact_from_v3_user,
    contact_from_v21,
    student_id_of,
)
from streams.core.diff import (
    PairChange,
    apply,
    diff,
    restated,
    revoke_all,
    to_privilege_changes,
)
from streams.core.exceptions import MalformedRecordError, PrivilegeCoreError
from streams.core.normalise import (
    equivalent,
    phone_type_of,
    preferred,
    privilege_of,
    raw_text,
)
from streams.core.pairs import FrozenPairs
from streams.core.reissue import reissued_from

__all__ = [
    "Action",
    "ContactRecord",
    "DeleteContact",
    "DeleteStudent",
    "FrozenPairs",
    "MalformedRecordError",
    "PairChange",
    "PrivilegeCoreError",
    "Skip",
    "UpsertContact",
    "UpsertStudent",
    "apply",
    "classify",
    "classify_snapshot",
    "contact_from_snapshot",
    "contact_from_v3_user",
    "contact_from_v21",
    "diff",
    "equivalent",
    "phone_type_of",
    "preferred",
    "privilege_of",
    "raw_text",
    "reissued_from",
    "restated",
    "revoke_all",
    "skip_of_type",
    "student_id_of",
    "to_privilege_changes",
]
