"""The table folder on disk: the clean-stop marker, discarding files, one worker per folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.exceptions import ConfigurationError
from streams.engines.faust.table_files import MARKER, discard, exclusive, take_marker, write_marker

TABLES = ("contacts", "districts")


@pytest.fixture
def tabledir(tmp_path: Path) -> Path:
    """A table folder as Faust leaves it: a database per table and partition, and backups."""
    folder = tmp_path / "v1" / "tables"
    for table in TABLES:
        for partition in range(3):
            db = folder / f"{table}-{partition}.db"
            db.mkdir(parents=True)
            (db / "CURRENT").write_text("MANIFEST-000001\n")
        (folder / f"{table}-backups").mkdir()
    return folder


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_without_a_marker_every_table_file_is_discarded(tabledir: Path) -> None:
    to_discard = take_marker(tabledir)
    deleted = discard(tabledir, to_discard)

    assert to_discard is None
    assert len(deleted) == 8
    assert tabledir.is_dir()
    assert names(tabledir) == set()


def test_with_a_marker_the_files_are_kept_and_the_marker_is_removed(tabledir: Path) -> None:
    before = names(tabledir)
    write_marker(tabledir, discard=frozenset())

    to_discard = take_marker(tabledir)
    deleted = discard(tabledir, to_discard)

    assert to_discard == frozenset()
    assert deleted == []
    assert names(tabledir) == before
    assert take_marker(tabledir) is None, "a marker is good for one start only"


def test_a_marker_can_name_partitions_to_discard_in_every_table(tabledir: Path) -> None:
    write_marker(tabledir, discard=frozenset({1}))

    deleted = discard(tabledir, take_marker(tabledir))

    assert sorted(deleted) == ["contacts-1.db", "districts-1.db"]
    assert names(tabledir) == {
        "contacts-0.db", "contacts-2.db", "contacts-backups",
        "districts-0.db", "districts-2.db", "districts-backups",
    }  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{", id="truncated"),
        pytest.param('{"discard": ["x"]}', id="not-partitions"),
        pytest.param("[]", id="wrong-shape"),
    ],
)
def test_an_unreadable_marker_counts_as_none(tabledir: Path, text: str) -> None:
    (tabledir / MARKER).write_text(text)

    assert take_marker(tabledir) is None
    assert not (tabledir / MARKER).exists()


def test_the_marker_is_written_whole(tabledir: Path) -> None:
    write_marker(tabledir, discard=frozenset({2, 0}))

    assert (tabledir / MARKER).read_text() == '{"discard": [0, 2]}'
    assert not list(tabledir.glob("*.tmp"))


def test_a_missing_folder_has_nothing_to_discard(tmp_path: Path) -> None:
    assert take_marker(tmp_path / "absent") is None
    assert discard(tmp_path / "absent", None) == []


def test_a_second_worker_on_the_same_folder_is_refused(tabledir: Path) -> None:
    with (
        exclusive(tabledir),
        pytest.raises(ConfigurationError, match="another worker"),
        exclusive(tabledir),
    ):
        pass
    with exclusive(tabledir):
        pass  # free again once the first has finished
