"""Clever's rate limit kept per token: paced ahead of it, and a Retry-After shared."""

from __future__ import annotations

import asyncio

import pytest

from connectors.pacing import TokenPacer


async def turns_taken(pacer: TokenPacer, token: str, wanted: int) -> int:
    """How many of ``wanted`` requests of ``token`` get their turn at once (within a few
    turns of the loop, far less than one request's share of a second)."""
    waits = [asyncio.create_task(pacer.wait_turn(token)) for _ in range(wanted)]
    for _ in range(20):
        await asyncio.sleep(0)
    taken = sum(wait.done() for wait in waits)
    for wait in waits:
        wait.cancel()
    await asyncio.wait(waits)
    return taken


async def test_a_token_gets_a_seconds_worth_of_its_pace_at_once_and_no_more() -> None:
    pacer = TokenPacer(1080)
    # 1,080 a minute is 18 a second: a burst of 18, then one every 1/18 s.
    assert await turns_taken(pacer, "token-a", 40) == 18


async def test_each_token_has_its_own_allowance() -> None:
    pacer = TokenPacer(600)
    assert await turns_taken(pacer, "token-a", 30) == 10
    assert await turns_taken(pacer, "token-b", 30) == 10


async def test_a_retry_after_holds_every_request_of_the_token_and_only_that_token() -> None:
    pacer = TokenPacer(1080)
    pacer.hold("token-a", 60)
    assert await turns_taken(pacer, "token-a", 3) == 0
    assert await turns_taken(pacer, "token-b", 3) == 3


def test_a_pace_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        TokenPacer(0)
