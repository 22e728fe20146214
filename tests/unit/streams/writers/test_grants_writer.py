"""The grants writer writes ``encode_grants``'s bytes, whatever the grants, or lets it write.

Its bytes are the grants table's changelog records: a restore reads them with
``decode_grants``, so they must read back as the grants written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.processor.encoding import decode_grants, encode_grants
from streams.processor.store import ContactGrants, PairGrant
from streams.writers import grants_writer
from streams.writers.grants_writer import GrantsWriter
from tests.strategies import texts

WRITER = GrantsWriter()
NOW = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)

#: Any aware time, in any offset (seconds too), to the microsecond: all ISO text keeps.
any_times = st.datetimes(
    timezones=st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
    )
    | st.just(UTC)
)
#: Any text: quotes, backslashes, control characters, non-ASCII.
grants = st.builds(
    ContactGrants,
    district_id=texts,
    contact_id=texts,
    grants=st.lists(
        st.builds(
            PairGrant,
            student_id=texts,
            granted_at=any_times,
            reissued_from_contact_id=st.none() | texts,
            last_change_id=texts,
        ),
        max_size=5,
    ).map(tuple),
)


def test_it_writes_itself() -> None:
    assert WRITER.writes_itself


@given(written=grants)
def test_grants_are_encode_grants_bytes(written: ContactGrants) -> None:
    assert WRITER.grants(written) == encode_grants(written)


@given(written=grants)
def test_a_restore_reads_back_the_grants_written(written: ContactGrants) -> None:
    assert decode_grants(WRITER.grants(written)) == written


@given(written=st.lists(grants, min_size=2, max_size=10))
def test_the_kept_time_follows_the_grants(written: list[ContactGrants]) -> None:
    # The same writer again and again, as the store uses it: nothing kept may leak.
    for one in written:
        assert WRITER.grants(one) == encode_grants(one)


def test_one_time_in_two_offsets_is_two_texts() -> None:
    # Equal instants, different ISO texts: the kept time is kept by identity, not equality.
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-7)))
    for moment in (NOW, elsewhere, NOW):
        one = _grants(granted_at=moment)
        assert WRITER.grants(one) == encode_grants(one)


def _grants(**fields: Any) -> ContactGrants:
    values: dict[str, Any] = {"student_id": "s", "granted_at": NOW}
    return ContactGrants(district_id="d", contact_id="c", grants=(PairGrant(**(values | fields)),))


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"student_id": "\ud800"}, id="lone-surrogate"),
        pytest.param({"student_id": 5}, id="number-for-text"),
        pytest.param({"granted_at": "2026-03-04"}, id="text-for-time"),
    ],
)
def test_what_encode_grants_does_with_odd_values_it_does_alike(odd: dict[str, Any]) -> None:
    try:
        expected: bytes | BaseException = encode_grants(_grants(**odd))
    except Exception as error:
        expected = error
    try:
        found: bytes | BaseException = WRITER.grants(_grants(**odd))
    except Exception as error:
        found = error
    assert repr(found) == repr(expected)


def test_a_changed_encode_grants_leaves_the_writing_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def format_two(written: ContactGrants) -> bytes:
        return encode_grants(written).replace(b'"format":1', b'"format":2')

    monkeypatch.setattr(grants_writer, "encode_grants", format_two)
    writer = GrantsWriter()
    assert not writer.writes_itself
    assert writer.grants(_grants()) == format_two(_grants())
