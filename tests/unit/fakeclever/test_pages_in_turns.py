"""A large page is built a thousand objects at a time, other requests served in between, and
pages come out as they did when built in one go."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx

from fakeclever import FakeClever
from fakeclever.pages import TURN_ITEMS, Item, take_in_turns


async def test_other_work_runs_between_the_turns_of_a_large_page() -> None:
    made: list[int] = []
    seen_by_the_other: list[int] = []

    def items() -> Iterator[Item]:
        for n in range(3 * TURN_ITEMS + 10):
            made.append(n)
            yield f"id-{n:06d}", {"n": n}

    async def other_request() -> None:
        seen_by_the_other.append(len(made))

    other = asyncio.create_task(other_request())
    page = await take_in_turns(items(), 3 * TURN_ITEMS + 1)
    await other

    assert [item_id for item_id, _ in page] == [f"id-{n:06d}" for n in range(3 * TURN_ITEMS + 1)]
    # It ran after the first turn, long before the page was done.
    assert seen_by_the_other == [TURN_ITEMS]


async def test_a_short_listing_ends_without_a_turn() -> None:
    page = await take_in_turns(iter([("a", {}), ("b", {})]), 10)
    assert [item_id for item_id, _ in page] == ["a", "b"]


async def test_a_large_listing_pages_alike_whatever_the_turns() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=3, contacts=2 * TURN_ITEMS + 500)
    headers = {"Authorization": f"Bearer {district.token}"}
    async with fake.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:
        whole = await http.get(
            "/v3.0/users", params={"role": "contact", "limit": 10_000}, headers=headers
        )
        ids: list[str] = []
        after: str | None = None
        while True:
            params = {
                "role": "contact",
                "limit": "700",
                **({"starting_after": after} if after else {}),
            }
            answer = await http.get("/v3.0/users", params=params, headers=headers)
            entries = answer.json()["data"]
            if not entries:
                break
            ids.extend(entry["data"]["id"] for entry in entries)
            after = ids[-1]
    listed = [entry["data"]["id"] for entry in whole.json()["data"]]
    assert listed == ids == sorted(district.contact_ids())
    assert len(listed) == 2 * TURN_ITEMS + 500
