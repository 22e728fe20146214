"""A partition transaction: read-your-writes, a savepoint per record, prepared for the
changelog, committed to the backing only once Kafka says so, forgotten on abort."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.records import ContactSnapshot
from schemas.values import PhoneType
from streams.engines.native.rocksdb import RocksDBBacking
from streams.processor.store import ContactGrants, DistrictProgress, PairGrant, StudentEntry
from streams.state.backing import MemoryBacking, TableBacking
from streams.state.reader import TableReader
from streams.state.tables import (
    CONTACTS,
    DELETED,
    DISTRICTS,
    EVENTS,
    GRANTS,
    STUDENTS,
    TableFormat,
    table_key,
)
from streams.state.transaction import PartitionTransaction

FORMAT = TableFormat(default_codec())
D = "d1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def contact(contact_id: str, *, district_id: str = D) -> ContactSnapshot:
    return ContactSnapshot(
        district_id=district_id,
        contact_id=contact_id,
        phone_type=PhoneType.CELL,
        updated_at=NOW,
    )


def transaction(backing: TableBacking | None = None, *, keep: int = 1_000) -> PartitionTransaction:
    return PartitionTransaction(backing or MemoryBacking(), table_format=FORMAT, keep=keep)


def committed(backing: TableBacking) -> TableReader:
    return TableReader(backing, table_format=FORMAT)


def seeded(*contact_ids: str) -> MemoryBacking:
    """A backing whose contacts table holds ``contact_ids`` of ``D``, at changelog offset 1."""
    backing = MemoryBacking()
    backing.apply(
        {(CONTACTS, table_key(D, c)): FORMAT.encode_contact(contact(c)) for c in contact_ids},
        changelog_offset=1,
    )
    return backing


class TestReadYourWrites:
    def test_reads_fall_through_to_the_backing_and_see_the_transaction_s_writes(self) -> None:
        backing = seeded("a", "b")
        store = transaction(backing)

        store.put_contact(contact("c"))
        store.delete_contact(D, "b")

        assert store.get_contact(D, "a") == contact("a")
        assert store.get_contact(D, "b") is None
        assert store.get_contact(D, "c") == contact("c")
        assert list(store.contact_ids(D)) == ["a", "c"]
        # The committed state is untouched until Kafka commits.
        assert committed(backing).get_contact(D, "b") == contact("b")
        assert committed(backing).get_contact(D, "c") is None
        assert committed(backing).contact_ids(D) == ["a", "b"]

    def test_empty_values_read_as_absent(self) -> None:
        store = transaction()

        store.put_student(StudentEntry(district_id=D, student_id="s"))
        store.put_grants(ContactGrants(district_id=D, contact_id="c"))

        assert store.get_student(D, "s") is None
        assert store.get_grants(D, "c") is None
        assert list(store.student_ids(D)) == []

    def test_ids_merge_the_backing_prepared_and_newer_writes_in_key_order(self) -> None:
        store = transaction(seeded("b", "d"))
        store.put_contact(contact("c"))
        store.prepare()
        store.put_contact(contact("a"))
        store.delete_contact(D, "d")
        store.put_contact(contact("x", district_id="d10"))

        assert list(store.contact_ids(D)) == ["a", "b", "c"]


class TestSavepoints:
    def test_rollback_undoes_the_record_s_writes_only(self) -> None:
        store = transaction(seeded("a"))
        store.savepoint()
        store.put_contact(contact("b"))  # an earlier record's write
        store.savepoint()
        store.delete_contact(D, "a")
        store.put_contact(contact("c"))
        store.remember_event(D, "e1", 3)

        store.rollback()

        assert store.get_contact(D, "a") == contact("a")
        assert store.get_contact(D, "c") is None
        assert store.event_day(D, "e1") is None
        assert store.get_contact(D, "b") == contact("b")
        assert set(store.prepare()) == {(CONTACTS, table_key(D, "b"))}

    def test_a_key_written_before_the_savepoint_stays_written(self) -> None:
        store = transaction()
        store.put_contact(contact("a"))
        store.savepoint()
        store.delete_contact(D, "a")

        store.rollback()

        assert store.prepare() == {
            (CONTACTS, table_key(D, "a")): FORMAT.encode_contact(contact("a"))
        }

    def test_prepared_writes_are_not_rolled_back(self) -> None:
        store = transaction()
        store.savepoint()
        store.put_contact(contact("a"))
        store.prepare()

        store.rollback()

        assert store.get_contact(D, "a") == contact("a")


class TestPrepareCommitAbort:
    def test_prepare_gives_each_key_s_last_value_since_the_last_prepare(self) -> None:
        store = transaction(seeded("a"))
        store.remember_event(D, "e1", 1)
        store.remember_event(D, "e1", 2)
        store.delete_contact(D, "a")

        assert store.prepare() == {
            (EVENTS, table_key(D, "e1")): b"2",
            (CONTACTS, table_key(D, "a")): None,
        }
        assert store.prepare() == {}
        store.remember_event(D, "e1", 5)
        assert store.prepare() == {(EVENTS, table_key(D, "e1")): b"5"}

    def test_deleting_what_no_one_holds_is_no_write(self) -> None:
        store = transaction()
        store.put_contact(contact("a"))
        store.delete_contact(D, "a")
        store.forget_event(D, "never")

        assert store.prepare() == {}

    def test_commit_applies_the_prepared_writes_with_the_changelog_offset(self) -> None:
        backing = seeded("a", "b")
        store = transaction(backing)
        store.put_contact(contact("c"))
        store.delete_contact(D, "a")
        store.prepare()

        store.commit(42)

        assert committed(backing).contact_ids(D) == ["b", "c"]
        assert backing.changelog_offset == 42
        assert not store.has_writes

    def test_commit_refuses_writes_never_prepared(self) -> None:
        store = transaction()
        store.put_contact(contact("a"))

        with pytest.raises(RuntimeError, match="prepare"):
            store.commit(1)

    def test_abort_forgets_the_writes_and_what_was_kept(self) -> None:
        backing = seeded("a")
        store = transaction(backing)
        store.delete_contact(D, "a")
        store.put_contact(contact("b"))
        store.prepare()
        store.put_contact(contact("c"))

        store.abort()

        assert not store.has_writes
        assert list(store.contact_ids(D)) == ["a"]
        assert store.get_contact(D, "b") is None
        assert backing.changelog_offset == 1

    def test_values_kept_past_keep_are_read_again_from_the_backing(self) -> None:
        backing = MemoryBacking()
        store = transaction(backing, keep=2)
        for name in "abc":
            store.put_contact(contact(name))
        store.prepare()
        store.commit(1)

        assert [store.get_contact(D, name) for name in "abc"] == [contact(n) for n in "abc"]


class TestDistrictProgress:
    def test_the_deleted_contacts_are_written_only_when_they_change(self) -> None:
        backing = MemoryBacking()
        store = transaction(backing)
        progress = DistrictProgress(district_id=D)
        store.put_district(progress)
        assert set(store.prepare()) == {(DISTRICTS, table_key(D))}

        with_deleted = progress.remember_deleted(contact("gone"))
        store.put_district(with_deleted)
        assert set(store.prepare()) == {(DISTRICTS, table_key(D)), (DELETED, table_key(D))}
        store.commit(2)

        reread = transaction(backing)
        found = reread.get_district(D)
        assert found == with_deleted
        assert found is not None
        reread.put_district(found.at(0, 7))
        assert set(reread.prepare()) == {(DISTRICTS, table_key(D))}

    def test_grants_and_students_round_trip_through_the_backing(self) -> None:
        backing = MemoryBacking()
        store = transaction(backing)
        grants = ContactGrants(
            district_id=D, contact_id="c", grants=(PairGrant(student_id="s", granted_at=NOW),)
        )
        entry = StudentEntry(district_id=D, student_id="s", exists=True, listed_by=frozenset("c"))
        store.put_grants(grants)
        store.put_student(entry)
        assert {table for table, _ in store.prepare()} == {GRANTS, STUDENTS}
        store.commit(1)

        assert committed(backing).get_grants(D, "c") == grants
        assert committed(backing).get_student(D, "s") == entry
        assert transaction(backing).get_student(D, "s") == entry


# One record: the events it remembers (a day) or forgets (None), and whether it fails
# (rolled back); a transaction: its records, whether a prepare comes half-way, how it ends.
records = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from(["d1", "d2"]), st.sampled_from("abcd"), st.none() | st.integers(0, 9)
        ),
        max_size=6,
    ),
    st.booleans(),
)
transactions = st.lists(
    st.tuples(st.lists(records, max_size=5), st.booleans(), st.sampled_from(["commit", "abort"])),
    max_size=6,
)
Days = dict[tuple[str, str], int]
Record = tuple[list[tuple[str, str, int | None]], bool]
Script = list[tuple[list[Record], bool, str]]


def check_against_a_dict(backing: TableBacking, script: Script, *, keep: int) -> Days:
    """Run ``script`` through a transaction and a plain dict, which must agree; the committed
    event days."""
    store = transaction(backing, keep=keep)
    committed_days: Days = {}
    for offset, (record_list, prepare_half_way, end) in enumerate(script, start=1):
        open_days = dict(committed_days)
        for number, (operations, fails) in enumerate(record_list):
            before = dict(open_days)
            store.savepoint()
            for district, event, day in operations:
                if day is None:
                    store.forget_event(district, event)
                    open_days.pop((district, event), None)
                else:
                    store.remember_event(district, event, day)
                    open_days[(district, event)] = day
            if fails:
                store.rollback()
                open_days = before
            for district in ("d1", "d2"):
                expected = {e: d for (dd, e), d in open_days.items() if dd == district}
                assert dict(store.remembered_events(district)) == expected
            if prepare_half_way and number == len(record_list) // 2:
                store.prepare()
        store.prepare()
        if end == "commit":
            store.commit(offset)
            committed_days = open_days
        else:
            store.abort()
        on_disk = {
            (district, event): int(value)
            for district in ("d1", "d2")
            for event in "abcd"
            if (value := backing.get(EVENTS, table_key(district, event))) is not None
        }
        assert on_disk == committed_days
        for (district, event), day in committed_days.items():
            assert store.event_day(district, event) == day
    return committed_days


@settings(max_examples=80, deadline=None)
@given(script=transactions, keep=st.sampled_from([0, 3, 1_000]))
def test_a_memory_backed_transaction_agrees_with_a_dict(script: Script, keep: int) -> None:
    check_against_a_dict(MemoryBacking(), script, keep=keep)


@settings(max_examples=30, deadline=None)
@given(script=transactions)
def test_a_rocksdb_backed_transaction_agrees_with_a_dict_and_keeps_it(script: Script) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p0"
        backing = RocksDBBacking.open(path)
        try:
            days = check_against_a_dict(backing, script, keep=2)
        finally:
            backing.close()
        reopened = RocksDBBacking.open(path)
        try:
            store = transaction(reopened)
            for district in ("d1", "d2"):
                expected = {e: d for (dd, e), d in days.items() if dd == district}
                assert dict(store.remembered_events(district)) == expected
        finally:
            reopened.close()
