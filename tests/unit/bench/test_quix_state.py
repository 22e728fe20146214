"""The worker's tables over a Quix Streams state: reads, writes and key ranges."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from bench.quix_state import QuixBacking, RecordState, state_key, successor

PREFIX = b"district-1"


class FakeState:
    """A record's state as Quix keeps it: committed keys, and the checkpoint's writes."""

    def __init__(self, committed: dict[bytes, bytes]) -> None:
        self.committed = committed
        self.updated: dict[bytes, bytes] = {}
        self.deleted: set[bytes] = set()

    def _full(self, key: bytes) -> bytes:
        return PREFIX + b"|" + key

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None:
        full = self._full(key)
        if full in self.deleted:
            return default
        return self.updated.get(full, self.committed.get(full, default))

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self.updated[self._full(key)] = value
        self.deleted.discard(self._full(key))

    def delete(self, key: bytes) -> None:
        self.updated.pop(self._full(key), None)
        self.deleted.add(self._full(key))


class FakeInternals:
    def prefix(self, state: RecordState) -> bytes:
        return PREFIX

    def stored_keys(self, state: RecordState, lower: bytes, upper: bytes) -> Iterator[bytes]:
        assert isinstance(state, FakeState)
        return iter(sorted(key for key in state.committed if lower <= key < upper))

    def updated(self, state: RecordState) -> Mapping[bytes, bytes]:
        assert isinstance(state, FakeState)
        return state.updated

    def deleted(self, state: RecordState) -> set[bytes]:
        assert isinstance(state, FakeState)
        return state.deleted


def committed(table: str, *keys: bytes) -> dict[bytes, bytes]:
    return {PREFIX + b"|" + state_key(table, key): b"v" for key in keys}


def test_keys_merge_the_stored_ones_with_the_checkpoints_writes() -> None:
    state = FakeState(
        committed("contacts", b"d1/c1", b"d1/c2", b"d2/c9") | committed("grants", b"d1/c3")
    )
    backing = QuixBacking(FakeInternals())
    backing.state = state
    backing.apply({("contacts", b"d1/c4"): b"new", ("contacts", b"d1/c1"): None},
                  changelog_offset=7)  # fmt: skip

    assert list(backing.keys("contacts", b"d1/")) == [b"d1/c2", b"d1/c4"]
    assert backing.get("contacts", b"d1/c4") == b"new"
    assert backing.get("contacts", b"d1/c1") is None
    assert backing.get("grants", b"d1/c3") == b"v"


def test_a_backing_without_a_records_state_refuses() -> None:
    with pytest.raises(RuntimeError):
        QuixBacking(FakeInternals()).get("contacts", b"d1/c1")


@pytest.mark.parametrize(
    ("prefix", "after"),
    [
        pytest.param(b"contacts:d1/", b"contacts:d10", id="slash"),
        pytest.param(b"a\xff", b"b", id="trailing-ff"),
    ],
)
def test_the_successor_bounds_every_key_of_the_prefix(prefix: bytes, after: bytes) -> None:
    assert successor(prefix) == after
    assert prefix + b"\xff\xff" < successor(prefix)
