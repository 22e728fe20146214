"""Clever JSON to raw-stream records: messy input never crashes, nothing Clever sent is lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.exceptions import MalformedRecordError, RecordTooLargeError
from connectors.mapping import (
    event_record,
    parse_clever_time,
    previous_attributes,
    snapshot_record,
    sync_completed_record,
    sync_started_record,
)
from schemas.codec import default_codec
from schemas.records import RawCleverRecord
from schemas.topics import MAX_RECORD_BYTES
from schemas.values import RawRecordKind, RecordSource

FETCHED = datetime(2026, 3, 2, 12, 0, 0, 123000, tzinfo=UTC)
EVENT_KEYS = ["id", "type", "created", "data", "previous_attributes", "object"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
messy_objects = st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=8), json_values)
anything = json_values | messy_objects | st.sampled_from([object(), b"bytes", {1, 2}, 3j])
ids = st.text(min_size=1, max_size=24).filter(str.strip)


def event(**fields: Any) -> dict[str, Any]:
    return {
        "type": "users.updated",
        "data": {"object": {"id": "u1", "roles": {"contact": {}}}},
        "id": "e1",
        "created": "2015-09-30T21:08:15.721Z",
        **fields,
    }


def test_an_event_as_clever_documents_it() -> None:
    item = event(data={"object": {"id": "u1"}, "previous_attributes": {"name": {"first": "H"}}})

    record = event_record(item, district_id="d1", api_version="v3.0", fetched_at=FETCHED)

    assert record == RawCleverRecord(
        district_id="d1",
        api_version="v3.0",
        kind=RawRecordKind.EVENT,
        source=RecordSource.EVENTS,
        event_id="e1",
        event_type="users.updated",
        record_type="users",
        record_id="u1",
        created_at=datetime(2015, 9, 30, 21, 8, 15, 721000, tzinfo=UTC),
        fetched_at=FETCHED,
        clever_json=json.dumps(item, separators=(",", ":")),
    )


@pytest.mark.parametrize(
    ("event_type", "family"),
    [
        ("contacts.deleted", "contacts"),
        ("studentcontacts.created", "studentcontacts"),
        ("students.updated", "students"),
        ("weird", "weird"),
        (".created", None),
    ],
)
def test_the_record_type_is_the_family_before_the_dot(event_type: str, family: str | None) -> None:
    record = event_record(
        event(type=event_type), district_id="d1", api_version="v2.1", fetched_at=FETCHED
    )

    assert record.record_type == family


@pytest.mark.parametrize(
    "data",
    [None, "x", [], {}, {"object": None}, {"object": {"id": 5}}, {"object": {"name": "n"}}],
    ids=["null", "string", "list", "empty", "null-object", "numeric-id", "no-id"],
)
def test_an_event_without_an_object_id_has_no_record_id(data: Any) -> None:
    record = event_record(event(data=data), district_id="d", api_version="v3.0", fetched_at=FETCHED)

    assert record.record_id is None
    assert record.clever_json is not None
    assert json.loads(record.clever_json)["data"] == data


@pytest.mark.parametrize(
    "item",
    [None, [], "users.created", event(id=None), event(id=""), event(id=7), event(type=None)],
    ids=["null", "list", "string", "null-id", "empty-id", "numeric-id", "no-type"],
)
def test_an_event_that_cannot_be_filed_is_malformed(item: Any) -> None:
    with pytest.raises(MalformedRecordError):
        event_record(item, district_id="d", api_version="v3.0", fetched_at=FETCHED)


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), {("a", "b"): 1}, b"x"], ids=["nan", "inf", "key", "bytes"]
)
def test_an_event_that_is_not_json_is_malformed(bad: Any) -> None:
    with pytest.raises(MalformedRecordError, match="JSON"):
        event_record(event(extra=bad), district_id="d", api_version="v3.0", fetched_at=FETCHED)


def test_lone_surrogates_are_escaped_so_the_json_stays_utf8() -> None:
    item = event(note="\ud800 half a pair", name="Zoë")

    record = event_record(item, district_id="d", api_version="v3.0", fetched_at=FETCHED)

    assert record.clever_json is not None
    record.clever_json.encode("utf-8")
    assert json.loads(record.clever_json) == item


def test_readable_text_stays_readable() -> None:
    record = event_record(
        event(name="Zoë"), district_id="d", api_version="v3.0", fetched_at=FETCHED
    )

    assert record.clever_json is not None
    assert "Zoë" in record.clever_json


@pytest.mark.parametrize(
    "bad_id",
    ["\ud800", "e" * 257, " \t", "\udfffe1"],
    ids=["lone-surrogate", "longer-than-256", "blank", "surrogate-prefix"],
)
def test_an_id_that_cannot_name_an_item_in_a_record_or_a_url_is_no_id(bad_id: str) -> None:
    for make in _both_records(event(id=bad_id)):
        with pytest.raises(MalformedRecordError, match="has no id") as caught:
            make()
        assert bad_id not in str(caught.value)


def test_a_type_that_is_no_text_is_malformed_and_an_object_id_that_is_none_is_left_out() -> None:
    with pytest.raises(MalformedRecordError, match="has no type"):
        event_record(event(type="users.\ud800"), **_WHERE)
    record = event_record(event(data={"object": {"id": "\udc00"}}), **_WHERE)
    assert record.record_id is None
    assert default_codec().encode(record)  # every lifted field is UTF-8 text


def test_a_record_larger_than_a_kafka_record_is_refused_and_one_that_fits_is_not() -> None:
    codec = default_codec()
    fits = event_record(event(note="x" * (MAX_RECORD_BYTES - 1000)), **_WHERE)
    assert len(codec.encode(fits)) <= MAX_RECORD_BYTES
    with pytest.raises(RecordTooLargeError, match="more than the 1,000,000"):
        event_record(event(note="x" * MAX_RECORD_BYTES), **_WHERE)
    # Text lifted out of the JSON counts too: a type of 600 KB is there three times.
    with pytest.raises(RecordTooLargeError):
        event_record(event(type="t" * 600_000), **_WHERE)
    as_snapshot = _both_records({"id": "u1", "name": "n" * MAX_RECORD_BYTES})[1]
    with pytest.raises(RecordTooLargeError, match="users u1"):
        as_snapshot()


#: Text of every kind, lone surrogates included (JSON's ``\ud800`` escapes make them).
any_text = st.text(st.characters(categories=["L", "N", "P", "Zs", "Cc", "Cs"]), max_size=30)


@given(
    item=st.dictionaries(
        st.sampled_from(EVENT_KEYS) | any_text,
        st.none() | any_text | st.integers() | st.fixed_dictionaries({"object": messy_objects}),
    )
    | st.fixed_dictionaries(
        {
            "id": any_text,
            "type": any_text,
            "data": st.fixed_dictionaries({"object": st.fixed_dictionaries({"id": any_text})}),
        }
    )
)
def test_what_maps_can_be_written_and_fits_in_a_kafka_record(item: Any) -> None:
    codec = default_codec()
    for make in _both_records(item):
        try:
            record = make()
        except MalformedRecordError:
            continue
        assert len(codec.encode(record)) <= MAX_RECORD_BYTES


_WHERE: dict[str, Any] = {"district_id": "d", "api_version": "v3.0", "fetched_at": FETCHED}


def _both_records(item: Any) -> list[Callable[[], RawCleverRecord]]:
    def as_event() -> RawCleverRecord:
        return event_record(item, district_id="d", api_version="v3.0", fetched_at=FETCHED)

    def as_snapshot() -> RawCleverRecord:
        return snapshot_record(
            item,
            district_id="d",
            api_version="v3.0",
            record_type="users",
            sync_id="s",
            source=RecordSource.SYNC,
            fetched_at=FETCHED,
        )

    return [as_event, as_snapshot]


@given(item=anything)
def test_anything_maps_or_is_malformed(item: Any) -> None:
    for make in _both_records(item):
        try:
            record = make()
        except MalformedRecordError:
            continue
        assert record.clever_json is not None
        assert json.loads(record.clever_json) == item


@given(item=messy_objects, event_id=ids, event_type=st.text(max_size=30).filter(str.strip))
def test_an_event_with_id_and_type_keeps_every_field(
    item: dict[str, Any], event_id: str, event_type: str
) -> None:
    item = {**item, "id": event_id, "type": event_type}

    record = event_record(item, district_id="d", api_version="v3.1", fetched_at=FETCHED)

    assert record.event_id == event_id
    assert record.event_type == event_type
    assert record.clever_json is not None
    assert json.loads(record.clever_json) == item
    assert list(json.loads(record.clever_json)) == list(item)  # order kept too


@given(item=messy_objects, record_id=ids)
def test_a_snapshot_record_keeps_the_object(item: dict[str, Any], record_id: str) -> None:
    item = {**item, "id": record_id}

    record = snapshot_record(
        item,
        district_id="d1",
        api_version="v2.1",
        record_type="contacts",
        sync_id="sync-1",
        source=RecordSource.RESYNC,
        fetched_at=FETCHED,
    )

    assert (record.kind, record.source, record.sync_id) == (
        RawRecordKind.SNAPSHOT,
        RecordSource.RESYNC,
        "sync-1",
    )
    assert (record.record_type, record.record_id, record.event_id) == ("contacts", record_id, None)
    assert record.created_at is None
    assert record.clever_json is not None
    assert json.loads(record.clever_json) == item


@pytest.mark.parametrize("item", [{}, {"id": None}, {"id": 1}, "u1"], ids=str)
def test_a_snapshot_record_without_id_is_malformed(item: Any) -> None:
    with pytest.raises(MalformedRecordError):
        snapshot_record(
            item,
            district_id="d",
            api_version="v3.0",
            record_type="users",
            sync_id="s",
            source=RecordSource.SYNC,
            fetched_at=FETCHED,
        )


def test_the_sync_control_records() -> None:
    started = sync_started_record(
        district_id="d1",
        api_version="v3.0",
        sync_id="s1",
        source=RecordSource.SYNC,
        bookmark_event_id="e9",
        fetched_at=FETCHED,
    )
    completed = sync_completed_record(
        district_id="d1",
        api_version="v3.0",
        sync_id="s1",
        source=RecordSource.SYNC,
        snapshot_records=42,
        fetched_at=FETCHED,
    )

    assert started == RawCleverRecord(
        district_id="d1",
        api_version="v3.0",
        kind=RawRecordKind.SYNC_STARTED,
        source=RecordSource.SYNC,
        sync_id="s1",
        event_id="e9",
        fetched_at=FETCHED,
    )
    assert completed == RawCleverRecord(
        district_id="d1",
        api_version="v3.0",
        kind=RawRecordKind.SYNC_COMPLETED,
        source=RecordSource.SYNC,
        sync_id="s1",
        snapshot_records=42,
        fetched_at=FETCHED,
    )
    with pytest.raises(ValueError, match="negative"):
        sync_completed_record(
            district_id="d1",
            api_version="v3.0",
            sync_id="s1",
            source=RecordSource.SYNC,
            snapshot_records=-1,
            fetched_at=FETCHED,
        )


# Times.

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 2),  # noqa: DTZ001 - bounds are naive; timezones= makes aware
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)


def _formats(moment: datetime) -> list[str]:
    utc = moment.astimezone(UTC)
    naive = utc.replace(tzinfo=None)
    offset = moment.strftime("%z")
    return [
        moment.isoformat(),
        moment.isoformat(timespec="milliseconds"),
        utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        utc.isoformat(timespec="microseconds").replace("+00:00", "z"),
        naive.isoformat(timespec="milliseconds"),
        naive.isoformat(sep=" "),
        moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + offset,
        f"  {utc.isoformat()}  ",
    ]


@given(moment=moments)
def test_times_parse_in_many_formats_to_utc_milliseconds(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    expected = utc.replace(microsecond=utc.microsecond // 1000 * 1000)

    for text in _formats(moment):
        assert parse_clever_time(text) == expected, text


@given(moment=moments)
def test_times_truncated_to_seconds_parse_too(moment: datetime) -> None:
    utc = moment.astimezone(UTC).replace(microsecond=0)

    assert parse_clever_time(utc.isoformat(timespec="seconds").replace("+00:00", "Z")) == utc
    assert parse_clever_time(int(utc.timestamp())) == utc
    if utc.year > 1973:  # before, milliseconds are too small to tell from seconds
        assert parse_clever_time(int(utc.timestamp()) * 1000) == utc


@given(value=json_values)
def test_anything_else_as_a_time_is_none_or_a_utc_time(value: Any) -> None:
    parsed = parse_clever_time(value)

    assert parsed is None or parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2015-13-01T00:00:00Z", "2015-09-30T25:00:00Z", None, True, [], 1e300],
    ids=["empty", "word", "month-13", "hour-25", "null", "bool", "list", "huge"],
)
def test_unparseable_times_are_none(value: Any) -> None:
    assert parse_clever_time(value) is None
    assert parse_clever_time(float("nan")) is None
    record = event_record(
        event(created=value), district_id="d", api_version="v3.0", fetched_at=FETCHED
    )
    assert record.created_at is None


# previous_attributes.

attributes = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


@given(inner=attributes, outer=attributes)
def test_previous_attributes_from_data_first(inner: dict[str, Any], outer: dict[str, Any]) -> None:
    docs = {"type": "users.updated", "data": {"object": {}, "previous_attributes": inner}}
    both = {**docs, "previous_attributes": outer}
    swagger = {"type": "users.updated", "data": {"object": {}}, "previous_attributes": outer}

    assert previous_attributes(docs) == inner
    assert previous_attributes(both) == inner
    assert previous_attributes(swagger) == outer


@given(event_like=anything)
def test_previous_attributes_of_anything_is_a_mapping(event_like: Any) -> None:
    assert isinstance(previous_attributes(event_like), dict)


@pytest.mark.parametrize(
    ("event_like", "expected"),
    [
        ({"data": {"previous_attributes": None}, "previous_attributes": {"a": 1}}, {"a": 1}),
        ({"data": "x", "previous_attributes": {"a": 1}}, {"a": 1}),
        ({"data": {"previous_attributes": []}}, {}),
        ({"type": "users.created"}, {}),
        ("not an event", {}),
    ],
    ids=["null-inner", "odd-data", "list-inner", "none", "not-a-mapping"],
)
def test_previous_attributes_falls_back_and_never_fails(
    event_like: Any, expected: dict[str, Any]
) -> None:
    assert previous_attributes(event_like) == expected
