"""Clever's rate limit kept per token: paced ahead of it, and a Retry-After shared."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from connectors.pacing import TokenPacer
from tests.waiting import eventually


@contextlib.asynccontextmanager
async def waiting_turns(
    pacer: TokenPacer, token: str, wanted: int
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """``wanted`` requests of ``token`` waiting for their turn; cancelled at the end."""
    waits = [asyncio.create_task(pacer.wait_turn(token)) for _ in range(wanted)]
    try:
        yield waits
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.wait(waits)


def taken(waits: list[asyncio.Task[None]]) -> int:
    return sum(wait.done() for wait in waits)


async def turns_at_once(pacer: TokenPacer, token: str, *, burst: int) -> int:
    """How many of ``burst`` + 3 requests of ``token`` have had their turn once ``burst`` did
    (the next turn is a second's ``burst``-th part away: far longer than this takes)."""
    async with waiting_turns(pacer, token, burst + 3) as waits:

        async def burst_taken() -> bool:
            return taken(waits) >= burst

        await eventually(burst_taken, timeout_s=10, what=f"{burst} turns of {token}")
        return taken(waits)


async def test_a_token_gets_a_seconds_worth_of_its_pace_at_once_and_no_more() -> None:
    # 60 a minute is one a second: a burst of one, then one a second.
    assert await turns_at_once(TokenPacer(60), "token-a", burst=1) == 1


async def test_each_token_has_its_own_allowance() -> None:
    pacer = TokenPacer(120)
    assert await turns_at_once(pacer, "token-a", burst=2) == 2
    assert await turns_at_once(pacer, "token-b", burst=2) == 2


async def test_a_retry_after_holds_every_request_of_the_token_and_only_that_token() -> None:
    pacer = TokenPacer(1080)
    pacer.hold("token-a", 60)
    async with (
        waiting_turns(pacer, "token-a", 3) as held,
        waiting_turns(pacer, "token-b", 3) as free,
    ):

        async def free_taken() -> bool:
            return taken(free) == 3

        await eventually(free_taken, timeout_s=10, what="token-b's turns")
        assert taken(held) == 0


def test_a_pace_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        TokenPacer(0)
