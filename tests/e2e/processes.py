"""Run one of the project's long-lived commands as a child process, as operators run it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


@asynccontextmanager
async def module_process(
    module: str, *args: str, env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m module args``, its output appended to ``log``; killed on exit if still up.

    A file, not a pipe: a pipe nobody reads would fill up and block the child.
    """
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, env=env, stdout=log_file, stderr=log_file
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
