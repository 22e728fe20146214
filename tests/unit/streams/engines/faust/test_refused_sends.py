"""A send the broker refuses fails its transaction's commit, at every attempt until the
transaction ends: Faust would commit the transaction without it (docs/decisions/0025).

Faust's producer is driven through its methods as the fixes patch them, with Faust's own
send and commit replaced by stand-ins, so nothing connects."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from faust.transport.drivers.aiokafka import Producer
from faust.types import TP

from streams.engines.faust import fixes


@pytest.fixture
def committed(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The transactional IDs each commit that reached Faust's own commit held."""
    fixes.apply_faust_fixes()
    found: list[list[str]] = []

    async def faust_commit(
        self: Producer, tid_to_offset_map: Mapping[str, Mapping[TP, int]], group_id: str,
        start_new_transaction: bool = True,
    ) -> None:  # fmt: skip
        found.append(list(tid_to_offset_map))

    monkeypatch.setattr(fixes, "_faust_commit_transactions", faust_commit)
    return found


def bare_producer() -> Producer:
    """A Faust producer object that never connects."""
    return Producer.__new__(Producer)


async def test_a_delivery_refused_later_fails_every_commit_until_the_transaction_ends(
    monkeypatch: pytest.MonkeyPatch, committed: list[list[str]]
) -> None:
    producer = bare_producer()

    async def refused_later(self: Producer, *args: object, **kwargs: object) -> object:
        future = asyncio.get_running_loop().create_future()
        future.set_exception(MessageSizeTooLargeError())
        return future

    monkeypatch.setattr(fixes, "_faust_send", refused_later)
    await Producer.send(producer, "topic", b"k", b"v", None, None, None, transactional_id="t-0")

    for _ in range(2):
        with pytest.raises(MessageSizeTooLargeError):
            await Producer.commit_transactions(producer, {"t-0": {}}, "group")
    # Aborting ends it (Faust's own abort finds no producer here, and logs it).
    await Producer.abort_transaction(producer, "t-0")
    await Producer.commit_transactions(producer, {"t-0": {}}, "group")

    assert committed == [["t-0"]]


async def test_a_send_refused_at_once_fails_the_commit_too(
    monkeypatch: pytest.MonkeyPatch, committed: list[list[str]]
) -> None:
    producer = bare_producer()

    async def refused_at_once(self: Producer, *args: object, **kwargs: object) -> object:
        raise MessageSizeTooLargeError()

    monkeypatch.setattr(fixes, "_faust_send", refused_at_once)
    with pytest.raises(MessageSizeTooLargeError):
        await Producer.send(producer, "topic", b"k", b"v", None, None, None, transactional_id="t-1")

    with pytest.raises(MessageSizeTooLargeError):
        await Producer.commit_transactions(producer, {"t-1": {}}, "group")
    assert committed == []


async def test_delivered_sends_commit(
    monkeypatch: pytest.MonkeyPatch, committed: list[list[str]]
) -> None:
    producer = bare_producer()

    async def delivered(self: Producer, *args: object, **kwargs: object) -> object:
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    monkeypatch.setattr(fixes, "_faust_send", delivered)
    await Producer.send(producer, "topic", b"k", b"v", None, None, None, transactional_id="t-2")
    await Producer.commit_transactions(producer, {"t-2": {}}, "group")

    assert committed == [["t-2"]]
