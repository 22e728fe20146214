"""SIGINT and SIGTERM stop a running job by cancelling it, so its cleanup runs."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from foundation.signals import run_until_signalled, sigterm_as_interrupt


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
async def test_a_signal_cancels_the_job_and_its_cleanup_runs(sig: signal.Signals) -> None:
    cleaned_up = asyncio.Event()
    started = asyncio.Event()

    async def job() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()
        return "never"

    async def send_signal() -> None:
        await started.wait()
        os.kill(os.getpid(), sig)

    sender = asyncio.create_task(send_signal())
    result = await asyncio.wait_for(run_until_signalled(job()), timeout=10)
    await sender

    assert result is None
    assert cleaned_up.is_set()


async def test_a_job_that_finishes_returns_its_result() -> None:
    async def job() -> str:
        return "done"

    assert await run_until_signalled(job()) == "done"


def test_sigterm_raises_keyboard_interrupt_in_blocking_code() -> None:
    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
