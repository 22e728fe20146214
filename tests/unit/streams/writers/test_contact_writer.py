"""The contact writer writes the codec's bytes, whatever the snapshot, or lets the codec write.

Its bytes are the contacts table's changelog records: a restore decodes them with the
codec, so they must decode to the snapshot written, as the codec's own bytes do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.records import ContactSnapshot, Privilege, StudentRelationship
from schemas.values import ContactType, PhoneType, Relationship
from streams.writers.contact_writer import ContactWriter
from tests.strategies import MESSAGES, clever_ids, privileges, texts
from tests.unit.streams.writers.codecs import assert_refused_alike, trailing_codec

CODEC = default_codec()
WRITER = ContactWriter(CODEC)
NOW = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)

#: Any aware time Python holds, in any offset, to the microsecond (fastavro truncates).
any_times = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - bounds are naive; timezones= makes aware
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    )
    | st.just(UTC),
)
#: Any text where the contract's strategy has IDs; arrays past a one-byte count (64).
relationships = st.builds(StudentRelationship, student_id=texts, privilege=privileges)
snapshots = st.builds(
    replace,
    MESSAGES[ContactSnapshot],
    district_id=texts,
    contact_id=texts,
    relationships=(
        st.lists(relationships, max_size=4) | st.lists(relationships, min_size=60, max_size=70)
    ).map(tuple),
    updated_at=any_times,
)
#: The contract's snapshots, at any time: many to a test, as the store writes them.
timed_snapshots = st.builds(replace, MESSAGES[ContactSnapshot], updated_at=any_times)


def test_it_writes_itself_with_the_default_codec() -> None:
    assert WRITER.writes_itself


@given(snapshot=snapshots)
def test_a_snapshot_is_the_codecs_bytes(snapshot: ContactSnapshot) -> None:
    assert WRITER.contact(snapshot) == CODEC.encode(snapshot)


@given(snapshot=MESSAGES[ContactSnapshot])
def test_a_restore_reads_back_the_snapshot_written(snapshot: ContactSnapshot) -> None:
    # The contract's times are whole milliseconds in UTC: what timestamp-millis holds.
    assert CODEC.decode(WRITER.contact(snapshot), ContactSnapshot) == snapshot


@given(written=st.lists(timed_snapshots, min_size=2, max_size=10))
def test_the_kept_parts_follow_the_snapshots(written: list[ContactSnapshot]) -> None:
    # The same writer again and again, as the store uses it: nothing kept may leak.
    for snapshot in written:
        assert WRITER.contact(snapshot) == CODEC.encode(snapshot)


@given(ids=st.lists(clever_ids, max_size=5))
def test_a_list_of_relationships_is_the_codecs_bytes(ids: list[str]) -> None:
    privilege = Privilege(relationship=Relationship.PARENT, contact_type=ContactType.FAMILY)
    listed = [StudentRelationship(student_id=one, privilege=privilege) for one in ids]
    snapshot = _snapshot(relationships=listed)
    assert WRITER.contact(snapshot) == CODEC.encode(snapshot)


def _snapshot(**fields: Any) -> ContactSnapshot:
    values: dict[str, Any] = {
        "district_id": "d",
        "contact_id": "c",
        "phone_type": PhoneType.CELL,
        "updated_at": NOW,
    }
    return ContactSnapshot(**(values | fields))


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"contact_id": "\ud800"}, id="lone-surrogate"),
        pytest.param({"contact_id": None}, id="none-for-text"),
        pytest.param({"phone_type": "CELL"}, id="text-for-enum"),
        pytest.param({"relationships": ("s",)}, id="text-for-relationship"),
    ],
)
def test_what_the_codec_refuses_it_refuses_alike(odd: dict[str, Any]) -> None:
    assert_refused_alike(CODEC, WRITER.contact, _snapshot(**odd))


def test_a_naive_time_is_the_codecs_bytes() -> None:
    naive = _snapshot(updated_at=datetime(2026, 3, 4, 5, 6, 7))  # noqa: DTZ001 - the point
    assert WRITER.contact(naive) == CODEC.encode(naive)


def test_another_wire_format_leaves_the_writing_to_the_codec() -> None:
    codec = trailing_codec()
    writer = ContactWriter(codec)
    assert not writer.writes_itself
    assert writer.contact(_snapshot()) == codec.encode(_snapshot())
