"""The output writer writes the codec's bytes, whatever the record, or lets the codec write."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.records import Privilege, PrivilegeChange, PrivilegeState
from schemas.values import ContactType, Relationship
from streams.writers.output_writer import OutputWriter
from tests.strategies import MESSAGES
from tests.unit.streams.writers.codecs import assert_refused_alike, trailing_codec

CODEC = default_codec()
WRITER = OutputWriter(CODEC)
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
changes = st.builds(
    replace,
    MESSAGES[PrivilegeChange],
    occurred_at=st.none() | any_times,
    emitted_at=any_times,
)
states = st.builds(replace, MESSAGES[PrivilegeState], granted_at=any_times, updated_at=any_times)


def test_it_writes_itself_with_the_default_codec() -> None:
    assert WRITER.writes_itself


@given(change=changes)
def test_a_change_is_the_codecs_bytes(change: PrivilegeChange) -> None:
    assert WRITER.change(change) == CODEC.encode(change)


@given(state=states)
def test_a_state_is_the_codecs_bytes(state: PrivilegeState) -> None:
    assert WRITER.state(state) == CODEC.encode(state)


@given(state=st.data(), count=st.integers(min_value=1, max_value=30))
def test_the_kept_parts_follow_the_records(state: st.DataObject, count: int) -> None:
    # The same writer again and again, as the engine uses it: nothing kept may leak.
    for _ in range(count):
        record = state.draw(states)
        assert WRITER.state(record) == CODEC.encode(record)


def _state(**fields: Any) -> PrivilegeState:
    privilege = Privilege(relationship=Relationship.PARENT, contact_type=ContactType.FAMILY)
    values: dict[str, Any] = {
        "district_id": "d",
        "contact_id": "c",
        "student_id": "s",
        "privilege": privilege,
        "granted_at": NOW,
        "last_change_id": "x",
        "updated_at": NOW,
    }
    return PrivilegeState(**(values | fields))


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"student_id": "\ud800"}, id="lone-surrogate"),
        pytest.param({"student_id": None}, id="none-for-text"),
        pytest.param(
            {"privilege": Privilege(relationship="PARENT", contact_type=ContactType.FAMILY)},  # type: ignore[arg-type]
            id="text-for-enum",
        ),
    ],
)
def test_what_the_codec_refuses_it_refuses_alike(odd: dict[str, Any]) -> None:
    assert_refused_alike(CODEC, WRITER.state, _state(**odd))


def test_a_naive_time_is_the_codecs_bytes() -> None:
    naive = _state(updated_at=datetime(2026, 3, 4, 5, 6, 7))  # noqa: DTZ001 - the point
    assert WRITER.state(naive) == CODEC.encode(naive)


def test_another_wire_format_leaves_the_writing_to_the_codec() -> None:
    codec = trailing_codec()
    writer = OutputWriter(codec)
    assert not writer.writes_itself
    assert writer.state(_state()) == codec.encode(_state())
