"""What every committed backing promises, in memory and in RocksDB files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from rocksdict import Options, Rdict

from streams.engines.native.rocksdb import RocksDBBacking
from streams.state.backing import MemoryBacking, TableBacking
from streams.state.tables import CONTACTS, STUDENTS, TABLE_NAMES


class BackingFactory(Protocol):
    def __call__(self, *, managed: bool = True) -> TableBacking:
        """A new empty backing; the fixture closes a ``managed`` one after the test."""
        ...


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
