"""The fake's own paths over real HTTP: which poller asked, the stats, changes on demand."""

from __future__ import annotations

import httpx

from tests.fake_clever_fixtures import RunningFakeClever

TIMEOUT = httpx.Timeout(10.0)


async def test_each_request_is_filed_under_its_user_agent_and_the_stats_say_so(
    fake_clever: RunningFakeClever,
) -> None:
    async with httpx.AsyncClient(base_url=fake_clever.base_url, timeout=TIMEOUT) as http:
        for agent in ("poller/1 (a)", "poller/1 (a)", "poller/1 (b)", "poller/1 (a)"):
            headers = {**fake_clever.headers(), "User-Agent": agent}
            assert (await http.get("/v3.0/events", headers=headers)).status_code == 200
        await http.get("/v3.0/events", headers={"User-Agent": "no token"})  # 401: no district
        stats = (await http.get("/_fake/stats")).json()
    runs = fake_clever.fake.poller_runs(fake_clever.district.id)
    assert [(run.user_agent, run.requests) for run in runs] == [
        ("poller/1 (a)", 2), ("poller/1 (b)", 1), ("poller/1 (a)", 1),
    ]  # fmt: skip
    assert all(run.first_at <= run.last_at for run in runs)
    assert stats == {
        "busiest_minute": fake_clever.fake.busiest_minute(),
        "overlapping": [],  # one request of b between two of a: a handover's straggler
        "polled": 1,
        "agents": ["poller/1 (a)", "poller/1 (b)"],
    }
    assert stats["busiest_minute"] >= 2
    # The fake's own paths are neither Clever's requests nor any poller's.
    assert all(not path.startswith("/_fake/") for _, path, _ in fake_clever.fake.requests)


async def test_changes_are_made_on_demand_and_a_bad_request_is_400(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    async with httpx.AsyncClient(base_url=fake_clever.base_url, timeout=TIMEOUT) as http:
        made = await http.post("/_fake/changes", json={"district_id": district.id, "count": 3})
        unknown = await http.post("/_fake/changes", json={"district_id": "nope"})
        malformed = await http.post("/_fake/changes", content=b"[")
    assert made.status_code == 200
    events = made.json()["events"]
    assert len(events) >= 3
    assert [event["id"] for event in district.events()][-len(events) :] == events
    assert (unknown.status_code, malformed.status_code) == (400, 400)
