"""An advisory file lock with a bounded wait, so two starts (or resolves) never collide."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from localkafka.exceptions import BrokerLockedError

_POLL_INTERVAL_S = 0.1


@contextmanager
def file_lock(path: Path, *, timeout_s: float, purpose: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block; the kernel frees it if we die."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BrokerLockedError(
                        f"another process has held {path} for over {timeout_s:.0f}s ({purpose})",
                        hint="wait for the other start, stop or resolve to finish, then retry",
                    ) from None
                time.sleep(_POLL_INTERVAL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
