"""Whether a newly created contact is one Clever just deleted, re-created under a new ID.

A contact without an SIS ID gets a new Clever ID whenever anything about it changes
(seeds/000, seeds/001): Clever deletes it and creates it again. The pipeline revokes at the
delete and grants at the create without waiting for one another (a revoke must never wait);
this rule only labels the grants with the contact they replace, so a consumer can tell a
reissue from a stranger gaining access.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.core.contacts import ContactRecord


def reissued_from(
    created: ContactRecord, recently_deleted: Sequence[tuple[str, ContactRecord]]
) -> str | None:
    """The ID of the deleted contact ``created`` re-creates, or None.

    ``recently_deleted`` holds (deleted contact ID, its last known record) pairs, oldest
    first, for the window the caller keeps them. A deleted contact matches when neither it
    nor ``created`` has an SIS ID (one that has would have kept its Clever ID), both name
    the same district, and both hold the same non-empty set of students with the same
    privileges, Clever's raw text included. The most recent match wins; a contact never
    matches itself.
    """
    if created.sis_id is not None or not created.relationships:
        return None
    for deleted_id, deleted in reversed(recently_deleted):
        if (
            deleted_id != created.contact_id
            and deleted.sis_id is None
            and deleted.district_id == created.district_id
            and deleted.relationships == created.relationships
        ):
            return deleted_id
    return None
