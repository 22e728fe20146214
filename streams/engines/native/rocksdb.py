"""A partition's committed tables in RocksDB files (``rocksdict``), for districts too large
to rebuild from the changelog on every start.

Only committed state is ever written (``streams.state.transaction``): a transaction's writes
land in one atomic RocksDB write batch together with the changelog offset they bring the
partition to, after Kafka has committed the transaction. So the files are always a state
some transaction left, and a restart (after a clean stop or a SIGKILL alike) reads only the
changelog after that offset. A kill between Kafka's commit and the write batch costs a
re-read of that transaction's records, nothing else: they hold the final values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from rocksdict import AccessType, Options, Rdict, WriteBatch

from streams.state.backing import Writes

#: The key of the changelog offset; table keys all start with a table name and ':'.
_OFFSET_KEY: Final = b"\x00changelog-offset"
_FORMAT_KEY: Final = b"\x00format"
_FORMAT: Final = b"1"


def _key(table: str, key: bytes) -> bytes:
    return table.encode("ascii") + b":" + key


class RocksDBBacking:
    """Committed tables of one raw partition in one RocksDB folder."""

    def __init__(self, db: Rdict, path: Path) -> None:
        self._db = db
        self.path = path
        found = db.get(_OFFSET_KEY)
        self._changelog_offset = 0 if found is None else int(found)

    @classmethod
    def open(cls, path: Path) -> RocksDBBacking:
        """Open (or create) the folder; one worker at a time (RocksDB locks it)."""
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        db = Rdict(str(path), options=options, access_type=AccessType.read_write())
        stored = db.get(_FORMAT_KEY)
        if stored is None:
            db[_FORMAT_KEY] = _FORMAT
        elif stored != _FORMAT:
            db.close()
            raise ValueError(f"{path} holds tables in format {stored!r}, not {_FORMAT!r}")
        return cls(db, path)

    def get(self, table: str, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(_key(table, key))
        return value

    def keys(self, table: str, prefix: bytes) -> Iterator[bytes]:
        start = _key(table, prefix)
        skip = len(table) + 1
        found = []
        iterator = self._db.iter()
        iterator.seek(start)
        while iterator.valid():
            key: bytes = iterator.key()
            if not key.startswith(start):
                break
            found.append(key[skip:])
            iterator.next()
        del iterator
        return iter(found)

    def apply(self, writes: Writes, *, changelog_offset: int) -> None:
        batch = WriteBatch(raw_mode=True)
        for (table, key), value in writes.items():
            if value is None:
                batch.delete(_key(table, key))
            else:
                batch.put(_key(table, key), value)
        offset = max(self._changelog_offset, changelog_offset)
        batch.put(_OFFSET_KEY, str(offset).encode("ascii"))
        self._db.write(batch)
        self._changelog_offset = offset

    @property
    def changelog_offset(self) -> int:
        return self._changelog_offset

    def close(self) -> None:
        self._db.close()
