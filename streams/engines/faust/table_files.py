"""The worker's RocksDB table files on disk: one worker per folder, and the clean-stop marker.

The marker is how one run of a worker tells the next which table files it may trust
(``streams.engines.faust.rocksdb_safety``, docs/decisions/0017). It is read and removed before
Faust opens any table, and written again only at the very end of a stop that proved its
writes committed: a run that dies anywhere in between (SIGKILL, a crash, a power cut) leaves
no marker, and the next start discards every table file, so Faust rebuilds the tables from
the changelogs.

Faust keeps one RocksDB database per table and partition, ``<tabledir>/<table>-<partition>.db``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from foundation.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

MARKER = "clean-stop.json"
_PARTITION_DB = re.compile(r"^.+-(?P<partition>\d+)\.db$")


@contextlib.contextmanager
def exclusive(tabledir: Path) -> Iterator[None]:
    """Hold the table folder for this worker alone while the block runs.

    The marker speaks for one worker's run, and discarding files under another running
    worker would break its databases, so a second worker on the same folder must not start.
    The lock file sits next to the folder, which is emptied, never replaced.
    """
    tabledir.mkdir(parents=True, exist_ok=True)
    lock_path = tabledir.parent / f"{tabledir.name}.lock"
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(
                f"another worker is using the table folder {tabledir}",
                hint="give each worker with CLEVER_WORKER_STORE=rocksdb:// its own "
                "CLEVER_WORKER_DATA_DIR",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def take_marker(tabledir: Path) -> frozenset[int] | None:
    """Remove the marker; the partitions it says to discard, or None when there was none.

    From here on, until :func:`write_marker`, a crash leaves no marker behind. A marker that
    cannot be read counts as none.
    """
    marker = tabledir / MARKER
    try:
        text = marker.read_text()
    except FileNotFoundError:
        return None
    marker.unlink()
    _sync_folder(tabledir)
    try:
        return frozenset(int(partition) for partition in json.loads(text)["discard"])
    except (ValueError, TypeError, KeyError):
        logger.warning("unreadable clean-stop marker in %s: treated as none", tabledir)
        return None


def write_marker(tabledir: Path, *, discard: frozenset[int]) -> None:
    """Record a clean stop: the next start keeps the table files of every other partition.

    Written whole or not at all (a temporary file, flushed to disk, then renamed).
    """
    marker = tabledir / MARKER
    temporary = marker.with_suffix(".tmp")
    with temporary.open("w") as file:
        json.dump({"discard": sorted(discard)}, file)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(marker)
    _sync_folder(tabledir)


def discard(tabledir: Path, partitions: frozenset[int] | None) -> list[str]:
    """Delete the table files of ``partitions`` (of everything in the folder for None).

    Returns the names deleted. The folder itself stays, for Faust to create new files in.
    """
    if not tabledir.is_dir():
        return []
    deleted = []
    for path in sorted(tabledir.iterdir()):
        if partitions is not None:
            match = _PARTITION_DB.match(path.name)
            if match is None or int(match["partition"]) not in partitions:
                continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        deleted.append(path.name)
    if deleted:
        _sync_folder(tabledir)
    return deleted


def _sync_folder(folder: Path) -> None:
    # A rename or unlink is durable once the folder holding it is flushed.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
