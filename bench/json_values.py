"""The tables' own values as an earlier version wrote them (JSON): for the writers'
benchmark to compare against, and for the tests that prove such values still read."""

from __future__ import annotations

import json

from schemas.datum import to_datum
from streams.processor.store import ContactGrants, DistrictProgress, StudentEntry


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_student(entry: StudentEntry) -> bytes:
    return _dumps(
        {
            "exists": entry.exists,
            "last_sync_id": entry.last_sync_id,
            "listed_by": sorted(entry.listed_by),
        }
    )


def json_grants(grants: ContactGrants) -> bytes:
    return _dumps(
        {
            "format": 1,
            "district_id": grants.district_id,
            "contact_id": grants.contact_id,
            "grants": [
                [
                    grant.student_id,
                    grant.granted_at.isoformat(),
                    grant.reissued_from_contact_id,
                    grant.last_change_id,
                ]
                for grant in grants.grants
            ],
        }
    )


def json_progress(progress: DistrictProgress) -> bytes:
    deleted = []
    for _, snapshot in progress.recently_deleted:
        datum = to_datum(snapshot)
        datum["updated_at"] = snapshot.updated_at.isoformat()
        deleted.append(datum)
    return _dumps(
        {
            "format": 1,
            "district_id": progress.district_id,
            "last_partition": progress.last_partition,
            "last_offset": progress.last_offset,
            "record_count": progress.record_count,
            "event_day": progress.event_day,
            "synced_through": progress.synced_through,
            "synced_api_version": progress.synced_api_version,
            "sync_id": progress.sync_id,
            "recently_deleted": deleted,
            "skipped": [[record_type, count] for record_type, count in progress.skipped],
        }
    )
