"""The fake Clever over real HTTP on loopback, read as a client reads Clever."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fakeclever import FakeClever
from tests.fake_clever_fixtures import RunningFakeClever, present

TIMEOUT = httpx.Timeout(10.0)


def client(running: RunningFakeClever, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else running.headers()
    return httpx.AsyncClient(base_url=running.base_url, headers=headers, timeout=TIMEOUT)


def next_link(body: dict[str, Any]) -> str | None:
    return next((link["uri"] for link in body["links"] if link["rel"] == "next"), None)


async def test_following_next_links_yields_every_contact_once_ascending(
    fake_clever: RunningFakeClever,
) -> None:
    fake_clever.district.random_changes(15, seed=1)
    seen: list[str] = []
    async with client(fake_clever) as http:
        uri: str | None = "/v3.0/users?role=contact&limit=7"
        while uri is not None:
            response = await http.get(uri)
            assert response.status_code == 200
            body = response.json()
            for item in body["data"]:
                assert item["uri"] == f"/v3.0/users/{item['data']['id']}"
                assert "contact" in item["data"]["roles"]
            seen += [item["data"]["id"] for item in body["data"]]
            uri = next_link(body)
    assert seen == sorted(set(seen))
    assert seen == list(fake_clever.district.contact_ids())


async def test_single_user_mycontacts_mystudents_and_districts(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    contact_id = next(district.contact_ids())
    students = [e["student"] for e in present(district.contact(contact_id))["roles"]["contact"][
        "student_relationships"]]  # fmt: skip
    async with client(fake_clever) as http:
        single = (await http.get(f"/v3.0/users/{contact_id}")).json()
        mine = (await http.get(f"/v3.0/users/{contact_id}/mystudents")).json()
        theirs = (await http.get(f"/v3.0/users/{students[0]}/mycontacts")).json()
        districts = (await http.get("/v3.0/districts")).json()
        missing = await http.get("/v3.0/users/" + "0" * 24)
    assert single == {"data": district.contact(contact_id)}
    assert [i["data"]["id"] for i in mine["data"]] == sorted(students)
    assert contact_id in [i["data"]["id"] for i in theirs["data"]]
    assert [i["data"]["id"] for i in districts["data"]] == [district.id]
    assert missing.status_code == 404
    assert "message" in missing.json()


@pytest.mark.parametrize("token", [None, "wrong"], ids=["no-token", "wrong-token"])
async def test_no_or_a_wrong_token_is_401(
    fake_clever: RunningFakeClever, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=fake_clever.base_url, timeout=TIMEOUT) as http:
        response = await http.get("/v3.0/users", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message"}


async def test_limit_above_ten_thousand_is_413(fake_clever: RunningFakeClever) -> None:
    async with client(fake_clever) as http:
        ok = await http.get("/v3.0/users", params={"limit": 10_000})
        too_big = await http.get("/v3.0/users", params={"limit": 10_001})
    assert ok.status_code == 200
    assert "X-RateLimit-Remaining" in ok.headers
    assert too_big.status_code == 413


async def test_events_paging_bootstrap_and_an_expired_cursor(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    async with client(fake_clever) as http:
        empty = (await http.get("/v3.0/events?ending_before=last&limit=1")).json()
        district.random_changes(12, seed=2)
        newest = (await http.get("/v3.0/events?ending_before=last&limit=1")).json()
        first = (await http.get("/v3.0/events", params={"limit": 5})).json()
        rest = (await http.get(next_link(first) or "")).json()
        retained = [e["id"] for e in district.events()]
        newest_id = retained[-1]
        after_newest = await http.get("/v3.0/events", params={"starting_after": newest_id})
        filtered = await http.get("/v3.0/events", params=[("record_type", "courses")])
        district.expire_events()
        cursor = first["data"][0]["data"]["id"]
        expired = await http.get("/v3.0/events", params={"starting_after": cursor})
    assert empty["data"] == []
    assert [i["data"]["id"] for i in newest["data"]] == [newest_id]
    ids = [i["data"]["id"] for i in first["data"] + rest["data"]]
    assert ids == retained[:10]
    assert after_newest.json()["data"] == []
    assert filtered.json()["data"] == []
    assert expired.status_code == 404
    assert set(expired.json()) == {"message"}


@pytest.mark.parametrize(
    ("kind", "options", "status"),
    [
        ("rate_limit", {"retry_after": 2.0}, 429),
        ("server_error", {"status": 502}, 502),
        ("slow", {"delay": 0.05}, 200),
        ("truncate", {}, 200),
        ("html", {}, 200),
    ],
    ids=["rate-limit", "server-error", "slow", "truncate", "html"],
)
async def test_each_fault_is_observable_once(
    fake_clever: RunningFakeClever, kind: str, options: dict[str, Any], status: int
) -> None:
    fake_clever.fake.faults.add(kind, path_prefix="/v3.0/users", **options)  # type: ignore[arg-type]
    async with client(fake_clever) as http:
        hit = await http.get("/v3.0/users?role=contact")
        after = await http.get("/v3.0/users?role=contact")
    assert hit.status_code == status
    assert after.status_code == 200
    after.json()
    if kind == "rate_limit":
        assert hit.headers["Retry-After"] == "2"
        assert hit.content == b""
    if kind == "truncate":
        with pytest.raises(json.JSONDecodeError):
            json.loads(hit.content)
    if kind == "html":
        assert hit.headers["Content-Type"].startswith("text/html")
    assert [s for _, path, s in fake_clever.fake.requests if "/users" in path] == [status, 200]


async def test_faults_scoped_to_a_district_spare_the_others() -> None:
    fake = FakeClever()
    first, second = fake.add_district(seed=1, contacts=5), fake.add_district(seed=2, contacts=5)
    fake.faults.add("server_error", times=3, district_id=first.id)
    async with fake.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:
        spared = await http.get("/v3.0/users", headers={"Authorization": f"Bearer {second.token}"})
        hit = await http.get("/v3.0/users", headers={"Authorization": f"Bearer {first.token}"})
    assert (spared.status_code, hit.status_code) == (200, 503)


async def test_v2_1_contacts_students_and_events(fake_clever: RunningFakeClever) -> None:
    district = fake_clever.district
    district.random_changes(6, seed=4)
    async with client(fake_clever) as http:
        contacts = (await http.get("/v2.1/contacts", params={"limit": 1000})).json()
        students = (await http.get("/v2.1/students", params={"limit": 1000})).json()
        one = contacts["data"][0]["data"]
        single = (await http.get(f"/v2.1/contacts/{one['id']}")).json()
        of_student = (await http.get(f"/v2.1/students/{one['students'][0]}/contacts")).json()
        events = (await http.get("/v2.1/events", params={"limit": 1000})).json()
    pairs = sum(len(d["students"]) for d in (i["data"] for i in contacts["data"]))
    assert pairs == len(contacts["data"]) == len(district.ground_truth())
    assert isinstance(one["name"], str)
    assert single == {"data": one}
    assert one["id"] in [i["data"]["id"] for i in of_student["data"]]
    assert len(students["data"]) == district.counts()["students"]
    assert [i["data"] for i in events["data"]] == district.events("v2.1")
