"""A partition's tables: pending writes read through, committed only once Kafka says so."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rocksdict import Options, Rdict

from streams.engines.native.rocksdb import RocksDBBacking
from streams.engines.native.state import (
    MemoryBacking,
    PartitionState,
    TableBacking,
    TableView,
)
from streams.state.tables import CONTACTS, STUDENTS, TABLE_NAMES


class BackingFactory(Protocol):
    def __call__(self, *, managed: bool = True) -> TableBacking:
        """A new empty backing; the fixture closes a ``managed`` one after the test."""
        ...


def seeded_state(**committed: bytes) -> PartitionState:
    """Partition 0 over a memory backing whose contacts table holds ``committed``."""
    backing = MemoryBacking()
    backing.apply({(CONTACTS, k.encode()): v for k, v in committed.items()}, changelog_offset=1)
    return PartitionState(0, backing)


class TestTableView:
    def test_reads_fall_through_pending_to_the_backing(self) -> None:
        state = seeded_state(a=b"1", b=b"2")
        view = state.tables.contacts

        view[b"b"] = b"22"
        view[b"c"] = b"3"

        assert (view[b"a"], view[b"b"], view[b"c"]) == (b"1", b"22", b"3")
        assert view.get(b"missing") is None
        assert view.get(b"missing", b"default") == b"default"
        assert len(view) == 3
        assert state.committed.contacts.get(b"b") == b"2"
        assert b"c" not in state.committed.contacts

    def test_a_pending_tombstone_hides_a_committed_key(self) -> None:
        state = seeded_state(a=b"1", b=b"2")
        view = state.tables.contacts

        del view[b"a"]

        assert view.get(b"a") is None
        assert view.get(b"a", b"default") == b"default"
        assert b"a" not in view
        with pytest.raises(KeyError):
            view[b"a"]
        assert list(view) == [b"b"]
        assert len(view) == 1
        assert state.pending_writes() == {(CONTACTS, b"a"): None}
        assert state.committed.contacts[b"a"] == b"1"

    def test_a_write_after_a_tombstone_brings_the_key_back(self) -> None:
        state = seeded_state(a=b"1")
        view = state.tables.contacts

        del view[b"a"]
        view[b"a"] = b"again"

        assert view[b"a"] == b"again"
        assert list(view) == [b"a"]

    def test_pop_returns_the_value_seen_and_leaves_a_tombstone(self) -> None:
        state = seeded_state(a=b"1")
        view = state.tables.contacts
        view[b"p"] = b"pending"

        assert view.pop(b"a") == b"1"
        assert view.pop(b"p") == b"pending"
        assert view.pop(b"a") is None
        assert view.pop(b"missing", b"default") == b"default"
        assert dict(state.pending_writes()) == {(CONTACTS, b"a"): None, (CONTACTS, b"p"): None}
        assert len(view) == 0

    def test_deleting_a_missing_key_raises_key_error_and_writes_nothing(self) -> None:
        state = seeded_state()

        with pytest.raises(KeyError):
            del state.tables.contacts[b"missing"]

        assert state.pending_writes() == {}

    def test_iteration_is_sorted_across_pending_and_committed(self) -> None:
        state = seeded_state(d=b"", b=b"", f=b"")
        view = state.tables.contacts
        for key in (b"e", b"a", b"c"):
            view[key] = b"x"

        assert list(view) == [b"a", b"b", b"c", b"d", b"e", b"f"]
        assert list(view.keys()) == list(view)

    def test_with_prefix_sees_pending_writes_of_its_own_table_only(self) -> None:
        state = seeded_state(**{"d1/a": b"", "d1/b": b"", "d10/a": b"", "d2/a": b""})
        view = state.tables.contacts
        view[b"d1/c"] = b"new"
        del view[b"d1/a"]
        state.tables.students[b"d1/zzz"] = b"a student, not a contact"

        assert list(view.with_prefix(b"d1/")) == [b"d1/b", b"d1/c"]
        assert list(view.with_prefix(b"d1")) == [b"d1/b", b"d1/c", b"d10/a"]
        assert list(view.with_prefix(b"none")) == []
        assert list(state.tables.students) == [b"d1/zzz"]

    def test_tables_do_not_share_keys(self) -> None:
        state = seeded_state(k=b"contact")

        state.tables.students[b"k"] = b"student"

        assert state.tables.contacts[b"k"] == b"contact"
        assert state.tables.students[b"k"] == b"student"
        assert b"k" not in state.tables.grants

    @pytest.mark.parametrize(
        "write",
        [
            pytest.param(lambda view: view.__setitem__(b"a", b"2"), id="set"),
            pytest.param(lambda view: view.__setitem__(b"new", b"2"), id="set-new"),
            pytest.param(lambda view: view.__delitem__(b"a"), id="del"),
            pytest.param(lambda view: view.pop(b"a"), id="pop"),
        ],
    )
    def test_the_committed_view_is_read_only(self, write: Callable[[TableView], object]) -> None:
        state = seeded_state(a=b"1")

        with pytest.raises(TypeError, match="read-only"):
            write(state.committed.contacts)

        assert state.pending_writes() == {}
        assert state.committed.contacts[b"a"] == b"1"

    def test_the_committed_view_ignores_pending_writes(self) -> None:
        state = seeded_state(a=b"1")
        state.tables.contacts[b"a"] = b"2"
        state.tables.contacts[b"b"] = b"3"

        assert dict(state.committed.contacts.items()) == {b"a": b"1"}


class TestPartitionState:
    def test_committed_at_applies_pending_clears_it_and_moves_the_offset(self) -> None:
        state = seeded_state(a=b"1", b=b"2")
        state.tables.contacts[b"a"] = b"11"
        del state.tables.contacts[b"b"]
        state.tables.students[b"s"] = b"[]"

        state.committed_at(42)

        assert state.pending_writes() == {}
        assert dict(state.committed.contacts.items()) == {b"a": b"11"}
        assert dict(state.committed.students.items()) == {b"s": b"[]"}
        assert state.backing.changelog_offset == 42

    def test_the_changelog_offset_never_goes_backwards(self) -> None:
        state = seeded_state()
        state.committed_at(10)
        state.tables.contacts[b"late"] = b"x"

        state.committed_at(3)

        assert state.backing.changelog_offset == 10
        assert state.committed.contacts[b"late"] == b"x"

    def test_discard_pending_forgets_the_open_transaction(self) -> None:
        state = seeded_state(a=b"1")
        state.tables.contacts[b"a"] = b"2"
        del state.tables.contacts[b"a"]
        state.tables.contacts[b"b"] = b"3"

        state.discard_pending()

        assert state.pending_writes() == {}
        assert dict(state.tables.contacts.items()) == {b"a": b"1"}
        assert state.backing.changelog_offset == 1

    def test_pending_writes_keep_the_last_write_per_key(self) -> None:
        state = seeded_state()
        state.tables.contacts[b"a"] = b"1"
        state.tables.contacts[b"a"] = b"2"
        state.tables.grants[b"g"] = b"3"
        del state.tables.grants[b"g"]

        assert dict(state.pending_writes()) == {(CONTACTS, b"a"): b"2", ("grants", b"g"): None}

    def test_take_unsent_gives_the_writes_since_the_last_take(self) -> None:
        state = seeded_state(a=b"1")
        state.tables.contacts[b"a"] = b"2"
        state.tables.contacts[b"a"] = b"3"
        state.tables.grants[b"g"] = b"4"

        assert state.take_unsent() == {(CONTACTS, b"a"): b"3", ("grants", b"g"): b"4"}
        assert state.take_unsent() == {}

        # Written again after a take: sent again; the transaction's writes are all pending.
        state.tables.contacts[b"a"] = b"5"
        del state.tables.grants[b"g"]
        assert state.take_unsent() == {(CONTACTS, b"a"): b"5", ("grants", b"g"): None}
        assert dict(state.pending_writes()) == {(CONTACTS, b"a"): b"5", ("grants", b"g"): None}

    @pytest.mark.parametrize("end", ["commit", "abort"])
    def test_a_transaction_s_end_leaves_nothing_unsent(self, end: str) -> None:
        state = seeded_state()
        state.tables.contacts[b"a"] = b"1"

        if end == "commit":
            state.committed_at(2)
        else:
            state.discard_pending()

        assert state.take_unsent() == {}

    def test_the_committed_view_cannot_write(self) -> None:
        state = seeded_state(a=b"1")

        with pytest.raises(TypeError, match="read-only"):
            state.committed.contacts[b"a"] = b"2"
        assert state.take_unsent() == {}


@pytest.fixture(params=["memory", "rocksdb"])
def make_backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackingFactory]:
    """Opens backings of the parametrised kind; RocksDB ones in folders of ``tmp_path``."""
    folders = itertools.count()
    to_close: list[TableBacking] = []

    def make(*, managed: bool = True) -> TableBacking:
        backing: TableBacking
        if request.param == "memory":
            backing = MemoryBacking()
        else:
            backing = RocksDBBacking.open(tmp_path / f"partition-{next(folders)}")
        if managed:
            to_close.append(backing)
        return backing

    yield make
    for backing in to_close:
        backing.close()


class TestBackingConformance:
    """What ``TableBacking`` promises, of every backing the engine can run on."""

    def test_a_new_backing_is_empty_at_offset_zero(self, make_backing: BackingFactory) -> None:
        backing = make_backing()

        assert backing.changelog_offset == 0
        for table in TABLE_NAMES:
            assert backing.get(table, b"any") is None
            assert list(backing.keys(table, b"")) == []

    def test_apply_puts_and_deletes_at_once(self, make_backing: BackingFactory) -> None:
        backing = make_backing()
        backing.apply({(CONTACTS, b"a"): b"1", (CONTACTS, b"b"): b"2"}, changelog_offset=5)

        backing.apply({(CONTACTS, b"a"): None, (CONTACTS, b"c"): b"3"}, changelog_offset=7)

        assert backing.get(CONTACTS, b"a") is None
        assert backing.get(CONTACTS, b"b") == b"2"
        assert backing.get(CONTACTS, b"c") == b"3"
        assert backing.changelog_offset == 7

    def test_deleting_a_missing_key_is_harmless(self, make_backing: BackingFactory) -> None:
        backing = make_backing()

        backing.apply({(CONTACTS, b"never"): None}, changelog_offset=1)

        assert backing.get(CONTACTS, b"never") is None
        assert backing.changelog_offset == 1

    def test_an_empty_value_is_a_value(self, make_backing: BackingFactory) -> None:
        backing = make_backing()

        backing.apply({(CONTACTS, b"empty"): b""}, changelog_offset=1)

        assert backing.get(CONTACTS, b"empty") == b""
        assert list(backing.keys(CONTACTS, b"")) == [b"empty"]

    def test_keys_are_those_of_the_table_with_the_prefix(
        self, make_backing: BackingFactory
    ) -> None:
        backing = make_backing()
        keys = [b"d1/a", b"d1/b", b"d10/a", b"d2/a", b"d1", b"\x00d1/"]
        backing.apply({(CONTACTS, key): b"c" for key in keys}, changelog_offset=1)
        backing.apply({(STUDENTS, b"d1/s"): b"s"}, changelog_offset=2)

        assert sorted(backing.keys(CONTACTS, b"d1/")) == [b"d1/a", b"d1/b"]
        assert sorted(backing.keys(CONTACTS, b"d1")) == [b"d1", b"d1/a", b"d1/b", b"d10/a"]
        assert sorted(backing.keys(CONTACTS, b"")) == sorted(keys)
        assert sorted(backing.keys(STUDENTS, b"d1")) == [b"d1/s"]
        assert list(backing.keys(CONTACTS, b"zz")) == []

    def test_the_changelog_offset_never_goes_backwards(self, make_backing: BackingFactory) -> None:
        backing = make_backing()
        backing.apply({}, changelog_offset=9)

        backing.apply({(CONTACTS, b"a"): b"1"}, changelog_offset=4)

        assert backing.changelog_offset == 9
        assert backing.get(CONTACTS, b"a") == b"1"

    def test_close_is_clean_after_writes(self, make_backing: BackingFactory) -> None:
        backing = make_backing(managed=False)
        backing.apply({(CONTACTS, b"a"): b"1"}, changelog_offset=1)

        backing.close()


class TestRocksDBBacking:
    def test_reopened_it_keeps_data_and_offset(self, tmp_path: Path) -> None:
        backing = RocksDBBacking.open(tmp_path / "p0")
        backing.apply({(CONTACTS, b"a"): b"1", (STUDENTS, b"s"): b"2"}, changelog_offset=17)
        backing.apply({(CONTACTS, b"gone"): b"x"}, changelog_offset=18)
        backing.apply({(CONTACTS, b"gone"): None}, changelog_offset=19)
        backing.close()

        reopened = RocksDBBacking.open(tmp_path / "p0")
        try:
            assert reopened.changelog_offset == 19
            assert reopened.get(CONTACTS, b"a") == b"1"
            assert reopened.get(STUDENTS, b"s") == b"2"
            assert reopened.get(CONTACTS, b"gone") is None
            assert sorted(reopened.keys(CONTACTS, b"")) == [b"a"]
        finally:
            reopened.close()

    def test_a_foreign_format_is_refused_and_the_folder_released(self, tmp_path: Path) -> None:
        path = tmp_path / "p0"
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        db = Rdict(str(path), options=options)
        db[b"\x00format"] = b"2"
        db.close()

        with pytest.raises(ValueError, match="format"):
            RocksDBBacking.open(path)
        # Refused again, not locked: the refused open closed the database.
        with pytest.raises(ValueError, match="format"):
            RocksDBBacking.open(path)


# One operation: (table, key, value), None deleting the key; then whether the transaction
# ends there, and how (commit or abort).
operations = st.tuples(
    st.sampled_from(TABLE_NAMES[:2]),
    st.binary(max_size=4),
    st.none() | st.binary(max_size=4),
)
transactions = st.lists(
    st.tuples(st.lists(operations, max_size=12), st.booleans()),
    max_size=6,
)
Model = dict[str, dict[bytes, bytes]]
Operation = tuple[str, bytes, bytes | None]
Script = list[tuple[list[Operation], bool]]


def check_against_a_dict(backing: TableBacking, script: Script) -> Model:
    """Run ``script`` through a partition's views and a plain dict, which must agree; the
    committed tables."""
    state = PartitionState(0, backing)
    views = {CONTACTS: state.tables.contacts, STUDENTS: state.tables.students}
    committed: Model = {CONTACTS: {}, STUDENTS: {}}
    for offset, (ops, commits) in enumerate(script, start=1):
        open_tx = {table: dict(values) for table, values in committed.items()}
        for table, key, value in ops:
            if value is None:
                assert views[table].pop(key) == open_tx[table].pop(key, None)
            else:
                views[table][key] = value
                open_tx[table][key] = value
            assert dict(views[table].items()) == open_tx[table]
        if commits:
            state.committed_at(offset)
            committed = open_tx
        else:
            state.discard_pending()
        for table, view in views.items():
            assert list(view) == sorted(committed[table])
            assert dict(view.items()) == committed[table]
            assert dict(getattr(state.committed, table).items()) == committed[table]
    return committed


@settings(max_examples=60, deadline=None)
@given(script=transactions)
def test_memory_backing_agrees_with_a_dict(script: Script) -> None:
    check_against_a_dict(MemoryBacking(), script)


@settings(max_examples=30, deadline=None)
@given(script=transactions)
def test_rocksdb_backing_agrees_with_a_dict_and_keeps_it(script: Script) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p0"
        backing = RocksDBBacking.open(path)
        try:
            committed = check_against_a_dict(backing, script)
        finally:
            backing.close()
        reopened = PartitionState(0, RocksDBBacking.open(path))
        try:
            for table, values in committed.items():
                assert dict(getattr(reopened.committed, table).items()) == values
        finally:
            reopened.close()
