"""The grants writer writes the internal ``ContactGrants`` schema's Avro, as fastavro does,
and what it writes reads back as the grants written.

Its bytes are the grants table's changelog records: a restore reads them with
``decode_grants``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.exceptions import EncodeError
from schemas.internal_schemas import CONTACT_GRANTS, internal_schema
from streams.processor.encoding import decode_grants, encode_grants
from streams.processor.store import ContactGrants, PairGrant
from streams.writers.grants_writer import GrantsWriter
from tests.strategies import texts

WRITER = GrantsWriter()
NOW = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)

#: Any aware time, in any offset (seconds too), to the microsecond: all timestamp-micros keeps.
any_times = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - bounds are naive; timezones= makes aware
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
    )
    | st.just(UTC),
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
        max_size=70,
    ).map(tuple),
)


def fastavro_message(written: ContactGrants) -> bytes:
    """The single-object message fastavro writes of ``written``'s datum."""
    schema = internal_schema(CONTACT_GRANTS)
    datum = {
        "district_id": written.district_id,
        "contact_id": written.contact_id,
        "grants": [
            {
                "student_id": grant.student_id,
                "granted_at": grant.granted_at,
                "reissued_from_contact_id": grant.reissued_from_contact_id,
                "last_change_id": grant.last_change_id,
            }
            for grant in written.grants
        ],
    }
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema.parsed, datum)
    return schema.header + buffer.getvalue()


@given(written=grants)
def test_grants_are_fastavros_single_object_message(written: ContactGrants) -> None:
    assert WRITER.grants(written) == fastavro_message(written)


@given(written=grants)
def test_a_restore_reads_back_the_grants_written(written: ContactGrants) -> None:
    # Equal instants: an offset other than UTC reads back as UTC.
    assert decode_grants(WRITER.grants(written)) == written


@given(written=st.lists(grants, min_size=2, max_size=10))
def test_it_writes_what_encode_grants_writes(written: list[ContactGrants]) -> None:
    # The same writer again and again, as the store uses it: nothing kept may leak.
    for one in written:
        assert WRITER.grants(one) == encode_grants(one)


def test_one_time_in_two_offsets_is_one_instant() -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-7)))
    assert WRITER.grants(_grants(granted_at=elsewhere)) == WRITER.grants(_grants(granted_at=NOW))


def _grants(**fields: Any) -> ContactGrants:
    values: dict[str, Any] = {"student_id": "s", "granted_at": NOW}
    return ContactGrants(district_id="d", contact_id="c", grants=(PairGrant(**(values | fields)),))


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"student_id": "\ud800"}, id="lone-surrogate"),
        pytest.param({"student_id": 5}, id="number-for-text"),
        pytest.param({"granted_at": "2026-03-04"}, id="text-for-time"),
        pytest.param({"granted_at": datetime(2026, 3, 4)}, id="naive-time"),  # noqa: DTZ001
    ],
)
def test_what_does_not_fit_the_schema_raises_encode_error(odd: dict[str, Any]) -> None:
    with pytest.raises(EncodeError, match="a ContactGrants does not fit its schema"):
        WRITER.grants(_grants(**odd))
