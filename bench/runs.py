"""One benchmark run's scratch space: a folder for its processes' logs and table files, and
the consumer groups' offsets, with every topic of the run deleted at its end."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.pipeline_kafka import GroupOffsets

logger = logging.getLogger(__name__)


@asynccontextmanager
async def bench_run(
    bootstrap_servers: str, *, tag: str, what: str
) -> AsyncIterator[tuple[Path, GroupOffsets]]:
    """A folder and the group offsets for the run; the folder is kept when the run fails,
    for its post-mortem, and the topics named after ``tag`` (Faust's own, named after a
    tagged app ID, too) are deleted either way."""
    folder = Path(tempfile.mkdtemp(prefix=f"clever-stream-{tag}-"))
    async with GroupOffsets(bootstrap_servers) as offsets:
        try:
            yield folder, offsets
        except BaseException:
            logger.warning("%s failed; its processes' logs are in %s", what, folder)
            raise
        else:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            await offsets.delete_topics([tag])
