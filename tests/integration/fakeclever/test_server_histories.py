"""Re-sent events and students that come and go, read over real HTTP as a poller reads them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fakeclever import FakeDistrict
from tests.fake_clever_fixtures import RunningFakeClever, present

TIMEOUT = httpx.Timeout(10.0)
MAX_PAGES = 500
Params = list[tuple[str, Any]]  # what httpx takes as repeated query parameters


def client(running: RunningFakeClever) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.base_url, headers=running.headers(), timeout=TIMEOUT)


def next_link(body: dict[str, Any]) -> str | None:
    return next((link["uri"] for link in body["links"] if link["rel"] == "next"), None)


async def page_through(
    http: httpx.AsyncClient, path: str, params: Params, *, by_last_id: bool
) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next`` links or, as the poller does, the last ID."""
    pages: list[list[dict[str, Any]]] = []
    uri: str | None = path
    query: Params | None = params
    for _ in range(MAX_PAGES):
        if uri is None:
            return pages
        response = await http.get(uri, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        page = [item["data"] for item in body["data"]]
        if page:
            pages.append(page)
        if by_last_id:  # on until an empty page, as a poller does
            last = page[-1]["id"] if page else None
            uri, query = (path, [*params, ("starting_after", last)]) if last else (None, None)
        else:
            uri, query = next_link(body), None
    raise AssertionError(f"paging {path} did not end within {MAX_PAGES} pages")


def touch_contact(district: FakeDistrict, nth: int) -> None:
    """A relationship change: v3 ``users.updated``, v2.1 contact records only."""
    contact_id = list(district.contact_ids(nth + 1))[nth]
    entries = present(district.contact(contact_id))["roles"]["contact"]["student_relationships"]
    district.change_relationship(contact_id, entries[0]["student"], relationship=f"Other {nth}")


def build_history(district: FakeDistrict) -> None:
    """Copies alone, adjacent, in runs, of chosen events, and one still waiting."""
    district.random_changes(5, seed=1)
    district.redeliver(1)  # an adjacent duplicate
    district.random_changes(3, seed=2)
    district.redeliver(2)
    district.redeliver(event_ids=[district.events()[0]["id"], district.events()[2]["id"]])
    district.random_changes(2, seed=3)
    district.redeliver(1)
    district.random_changes(1, seed=4)
    district.redeliver(3)  # waits for an event that never comes


@pytest.mark.parametrize("limit", [1, 2, 3, 100], ids=lambda n: f"limit-{n}")
@pytest.mark.parametrize("by_last_id", [False, True], ids=["next-links", "last-id"])
async def test_paging_serves_every_event_and_copy_once_in_order_and_ends(
    fake_clever: RunningFakeClever, limit: int, by_last_id: bool
) -> None:
    district = fake_clever.district
    build_history(district)
    served = district.served_events()
    assert len(served) == len(district.events()) + 6
    async with client(fake_clever) as http:
        pages = await page_through(
            http, "/v3.0/events", [("limit", str(limit))], by_last_id=by_last_id
        )
    assert [e for page in pages for e in page] == served
    copy_flags = iter([is_copy for _, is_copy in district.feed("v3.0").served(0)])
    for page in pages:
        flags = [next(copy_flags) for _ in page]
        assert flags[-1] is False  # a page ends on an original, never on a copy
        last_run = len(flags) - 1 - flags[-2::-1].index(False) if False in flags[:-1] else 0
        assert last_run < limit  # only the last run (copies and their event) passes limit
    assert next(copy_flags, None) is None


async def test_a_page_keeps_a_copy_run_with_its_event_and_links_name_the_event(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    first = district.random_changes(3, seed=5)
    copies = district.redeliver(3)
    [later] = district.random_changes(1, seed=6)
    async with client(fake_clever) as http:
        body = (
            await http.get("/v3.0/events", params={"limit": 2, "starting_after": first[-1]["id"]})
        ).json()
        newest = (await http.get("/v3.0/events?ending_before=last&limit=1")).json()
        single = (await http.get(f"/v3.0/events/{first[0]['id']}")).json()
    assert [item["data"] for item in body["data"]] == [*copies, later]  # 4 items at limit 2
    assert "next" not in {link["rel"] for link in body["links"]}
    prev = next(link["uri"] for link in body["links"] if link["rel"] == "prev")
    assert f"ending_before={later['id']}" in prev
    assert [item["data"] for item in newest["data"]] == [later]
    assert single == {"data": first[0]}


async def test_filters_apply_to_copies_and_pages_still_end_on_an_event(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    students = list(district.student_ids(2))
    [gone] = district.delete_student(students[0], keep_listed=True)  # v2: students.deleted
    touch_contact(district, 0)
    [gone_v2] = district.events("v2.1")[:1]
    district.redeliver(api_version="v2.1", event_ids=[gone_v2["id"]])
    touch_contact(district, 1)  # the copy is attached here, to a filtered-out event
    district.create_student(students[0])
    [created_v2] = [e for e in district.events("v2.1") if e["type"] == "students.created"]
    district.redeliver(api_version="v2.1", event_ids=[created_v2["id"]])
    touch_contact(district, 2)  # trailing: no students event after it yet
    params = [("record_type", "students"), ("limit", "1")]
    async with client(fake_clever) as http:
        pages = await page_through(http, "/v2.1/events", params, by_last_id=True)
        district.delete_student(students[1], keep_listed=True)
        after = await page_through(http, "/v2.1/events", params, by_last_id=False)
        users = await page_through(
            http, "/v3.0/events", [("record_type", "users"), ("limit", "2")], by_last_id=True
        )
        none = await page_through(
            http, "/v3.0/events", [("record_type", "courses")], by_last_id=False
        )
    assert [[e["type"] for e in page] for page in pages] == [
        ["students.deleted"],
        ["students.deleted", "students.created"],  # the copy rode with the next student event
    ]
    assert pages[1][0] == gone_v2
    assert [e["type"] for page in after for e in page] == [
        "students.deleted",
        "students.deleted",
        "students.created",
        "students.created",
        "students.deleted",
    ]
    assert [e for page in users for e in page] == district.served_events()
    assert gone in district.events()
    assert none == []


async def test_created_students_are_listed_after_the_base_ones_and_page_from_a_cursor(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    base = list(district.student_ids())
    reserved = district.new_student_id()
    fresh, _ = district.create_student()
    district.create_contact([base[0], reserved], sis_id="N-7", allow_missing_students=True)
    district.delete_student(base[1], keep_listed=True)
    again, _ = district.create_student(reserved)
    expected = [base[0], *base[2:], again, fresh]
    assert list(district.student_ids()) == expected
    async with client(fake_clever) as http:
        v3 = await page_through(
            http, "/v3.0/users", [("role", "student"), ("limit", "3")], by_last_id=False
        )
        everyone = await page_through(http, "/v3.0/users", [("limit", "7")], by_last_id=True)
        v2 = await page_through(http, "/v2.1/students", [("limit", "4")], by_last_id=True)
        tail = (
            await http.get("/v3.0/users", params={"role": "student", "starting_after": again})
        ).json()
        one = (await http.get(f"/v3.0/users/{fresh}")).json()
        gone = await http.get(f"/v3.0/users/{base[1]}")
    assert [u["id"] for page in v3 for u in page] == expected
    everyone_ids = [u["id"] for page in everyone for u in page]
    assert everyone_ids == sorted(everyone_ids)
    assert everyone_ids[-2:] == [again, fresh]
    assert set(everyone_ids) == set(expected) | set(district.contact_ids())
    assert [s["id"] for page in v2 for s in page] == expected
    assert [item["data"]["id"] for item in tail["data"]] == [fresh]
    assert one == {"data": district.student(fresh)}
    assert gone.status_code == 404


async def test_a_contact_keeps_listing_a_deleted_student(fake_clever: RunningFakeClever) -> None:
    district = fake_clever.district
    student = next(s for s in district.student_ids() if district.store.contacts_of(s))
    contact_id = district.store.contacts_of(student)[0]
    district.delete_student(student, keep_listed=True)
    async with client(fake_clever) as http:
        contact = (await http.get(f"/v3.0/users/{contact_id}")).json()["data"]
        mine = (await http.get(f"/v3.0/users/{contact_id}/mystudents")).json()
        theirs = await http.get(f"/v3.0/users/{student}/mycontacts")
        v2_events = (await http.get("/v2.1/events")).json()
    entries = contact["roles"]["contact"]["student_relationships"]
    assert student in [e["student"] for e in entries]
    assert student not in [item["data"]["id"] for item in mine["data"]]
    assert theirs.status_code == 404
    assert [item["data"]["type"] for item in v2_events["data"]] == ["students.deleted"]
    assert present(district.contact(contact_id)) == contact
