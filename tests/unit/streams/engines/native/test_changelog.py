"""The changelog's keys and topic name: ``<table>:<table key>``, read back as written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.engines.native.changelog import changelog_key, changelog_topic, parse_changelog_key
from streams.state.tables import TABLE_NAMES

tables = st.sampled_from(TABLE_NAMES)


@given(table=tables, key=st.binary() | st.binary().map(lambda key: b":" + key + b":"))
def test_a_changelog_key_reads_back_as_its_table_and_key(table: str, key: bytes) -> None:
    assert parse_changelog_key(changelog_key(table, key)) == (table, key)


def test_a_key_with_separators_keeps_them() -> None:
    key = changelog_key("contacts", b"d1:c1::")

    assert key == b"contacts:d1:c1::"
    assert parse_changelog_key(key) == ("contacts", b"d1:c1::")


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"contacts", id="no-separator"),
        pytest.param(b":contacts", id="no-table"),
        pytest.param(b"offsets:d1", id="unknown-table"),
        pytest.param(b"Contacts:d1", id="table-case"),
        pytest.param(b"contacts/d1", id="other-separator"),
        pytest.param(b"\x00changelog-offset", id="rocksdb-offset-key"),
        pytest.param(b"\xff\xfe:d1", id="not-ascii"),
    ],
)
def test_a_foreign_key_is_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="not a table changelog key"):
        parse_changelog_key(key)


@given(prefix=st.binary().filter(lambda b: b":" not in b), rest=st.binary())
def test_only_the_five_tables_are_read(prefix: bytes, rest: bytes) -> None:
    key = prefix + b":" + rest
    if prefix.decode("latin-1") in TABLE_NAMES:
        assert parse_changelog_key(key) == (prefix.decode("ascii"), rest)
    else:
        with pytest.raises(ValueError, match="not a table changelog key"):
            parse_changelog_key(key)


@pytest.mark.parametrize(
    ("app_id", "topic"),
    [
        pytest.param("clever-stream-privileges", "clever-stream-privileges-tables-changelog"),
        pytest.param("a", "a-tables-changelog"),
    ],
)
def test_the_changelog_topic_is_named_after_the_app(app_id: str, topic: str) -> None:
    assert changelog_topic(app_id) == topic


def test_every_app_has_its_own_changelog() -> None:
    assert changelog_topic("one") != changelog_topic("two")
