"""The actions' own rules, held to their plainest statement."""

from __future__ import annotations

from dataclasses import fields, replace

from hypothesis import given
from hypothesis import strategies as st

from schemas.records import ContactSnapshot
from streams.processor.actions import _differs
from tests.strategies import MESSAGES

snapshots = MESSAGES[ContactSnapshot]
field_names = st.sets(st.sampled_from([field.name for field in fields(ContactSnapshot)]))


@given(stored=snapshots, other=snapshots, taken=field_names)
def test_a_contact_differs_in_more_than_its_last_event_and_write_time(
    stored: ContactSnapshot, other: ContactSnapshot, taken: set[str]
) -> None:
    # Some of another contact's fields on a stored one: no, some or all differences.
    snapshot = replace(stored, **{name: getattr(other, name) for name in taken})

    expected = replace(stored, last_event_id=None, updated_at=snapshot.updated_at) != replace(
        snapshot, last_event_id=None
    )
    assert _differs(stored, snapshot) is expected
