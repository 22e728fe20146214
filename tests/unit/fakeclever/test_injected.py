"""Malformed items injected among a district's events and users: where and how they are served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fakeclever import FakeClever, FakeDistrict, UnknownRecordError
from fakeclever.events import Served, entry_groups
from fakeclever.injected import InjectedUsers, own_id
from tests.fake_clever_fixtures import RunningFakeClever

TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
def district() -> FakeDistrict:
    return FakeClever().add_district(seed=31, contacts=30)


def wrapped(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"data": e, "uri": f"/v3.0/events/{e['id']}"} for e in events]


def client(running: RunningFakeClever) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.base_url, headers=running.headers(), timeout=TIMEOUT)


async def pages(http: httpx.AsyncClient, uri: str) -> list[dict[str, Any]]:
    """Every page's body, following ``next`` links."""
    found: list[dict[str, Any]] = []
    target: str | None = uri
    while target is not None and len(found) < 200:
        response = await http.get(target)
        assert response.status_code == 200, response.text
        found.append(response.json())
        target = next((i["uri"] for i in found[-1]["links"] if i["rel"] == "next"), None)
    return found


def test_an_injected_item_is_served_as_it_is_between_the_events_around_it(
    district: FakeDistrict,
) -> None:
    first = district.random_changes(2, seed=1)
    no_id = district.inject_event({"type": "users.updated", "data": {"object": {"id": "u"}}})
    raw = district.inject_event([1, 2], wrapped=False)
    later = district.random_changes(1, seed=2)

    assert no_id == {
        "data": {"type": "users.updated", "data": {"object": {"id": "u"}}},
        "uri": "/v3.0/events",
    }
    assert district.served_entries() == [*wrapped(first), no_id, [1, 2], *wrapped(later)]
    assert district.served_entries(after=first[0]["id"])[1:3] == [no_id, raw]
    assert district.events() == first + later  # the feed's own events only
    assert district.served_events() == first + later
    assert district.events("v2.1")  # the other feed has none of it
    assert len(district.served_entries(api_version="v2.1")) == len(district.events("v2.1"))


def test_an_item_with_an_id_of_its_own_is_a_cursor(district: FakeDistrict) -> None:
    first = district.random_changes(1, seed=1)
    odd = district.inject_event({"id": "odd-1", "type": 7})
    later = district.random_changes(1, seed=2)

    assert odd["uri"] == "/v3.0/events/odd-1"
    assert district.served_entries(after="odd-1") == wrapped(later)
    assert district.served_events(after="odd-1") == later
    assert district.served_entries(after=first[0]["id"]) == [odd, *wrapped(later)]
    # An ID that names something already is no cursor of its own: it rides along.
    again = district.inject_event({"id": first[0]["id"], "type": None})
    district.inject_event({"id": "odd-1"})
    third = district.random_changes(1, seed=3)
    assert district.served_entries(after=later[0]["id"])[0] == again
    assert district.served_entries(after="odd-1")[-1] == wrapped(third)[0]


def test_items_at_the_end_are_served_until_an_event_comes_then_before_it(
    district: FakeDistrict,
) -> None:
    first = district.random_changes(1, seed=1)
    tail = district.inject_event({"type": "users.created"})
    assert district.served_entries(after=first[0]["id"]) == [tail]
    later = district.random_changes(1, seed=2)
    assert district.served_entries(after=first[0]["id"]) == [tail, *wrapped(later)]
    assert district.served_entries(after=later[0]["id"]) == []


def test_injected_items_go_with_their_position_when_it_expires(district: FakeDistrict) -> None:
    district.random_changes(1, seed=1)
    district.inject_event({"id": "odd-2"})
    district.inject_event("waiting")
    district.expire_events()
    assert district.served_entries() == []
    with pytest.raises(UnknownRecordError):
        district.served_entries(after="odd-2")
    later = district.random_changes(1, seed=2)
    assert district.served_entries() == wrapped(later)


def test_runs_end_on_cursors_and_a_last_run_of_items_without_one_ends_the_feed() -> None:
    def original(n: int) -> Served:
        return Served({"id": f"e{n}", "type": "users.updated"}, f"e{n}")

    served = [
        original(0),
        Served({"type": "x"}, None, injected=True),
        Served({"id": "e0"}, None, copy=True),
        original(1),
        Served({"id": "odd"}, "odd", injected=True),
        original(2),
        Served(5, None, injected=True),
        Served({"id": "e1"}, None, copy=True),  # a copy waiting for an event: not served yet
        Served("text", None, injected=True),
    ]
    runs = [(cursor, [s.body for s in run]) for cursor, run in entry_groups(served, bool)]
    assert runs == [
        ("e0", [{"id": "e0", "type": "users.updated"}]),
        ("e1", [{"type": "x"}, {"id": "e0"}, {"id": "e1", "type": "users.updated"}]),
        ("odd", [{"id": "odd"}]),
        ("e2", [{"id": "e2", "type": "users.updated"}]),
        (None, [5, "text"]),
    ]
    # Filters apply to events only: injected items pass every one.
    kept = list(entry_groups(served, lambda event: event["id"] == "e2"))
    assert [cursor for cursor, _ in kept] == ["odd", "e2", None]


@pytest.mark.parametrize(
    ("entry", "found"),
    [
        ({"data": {"id": "a"}, "uri": "/x"}, "a"),
        ({"data": {"type": "x"}, "uri": "/x"}, None),
        ({"id": "b", "data": {"id": "c"}}, "b"),
        ({"data": {"id": ""}}, None),
        ({"data": {"id": 5}}, None),
        ([{"id": "a"}], None),
        ("a", None),
    ],
    ids=["wrapped", "wrapped-no-id", "unwrapped-event", "empty", "number", "list", "text"],
)
def test_the_id_a_client_reads_from_an_entry(entry: Any, found: str | None) -> None:
    assert own_id(entry) == found


def test_users_injected_before_an_id_ride_with_the_record_listed_there() -> None:
    injected = InjectedUsers()
    injected.add("end", role="contact", before=None)
    injected.add("before-c", role="contact", before="c")
    injected.add("before-b", role="contact", before="b")
    injected.add("student", role="student", before="a")
    listed = [(i, {"id": i}) for i in ("a", "c", "d")]

    def runs(role: str | None, after: str | None) -> list[tuple[str | None, list[Any]]]:
        records = iter([r for r in listed if after is None or r[0] > after])
        groups = injected.groups(records, role=role, after=after, uri=lambda i: i)
        return [(c, [e if isinstance(e, str) else e["data"]["id"] for e in r]) for c, r in groups]

    assert runs("contact", None) == [
        ("a", ["a"]),
        ("c", ["before-b", "before-c", "c"]),  # by the ID each goes before
        ("d", ["d"]),
        (None, ["end"]),
    ]
    assert runs(None, None)[0] == ("a", ["student", "a"])
    # After "b", what went before it was served with an earlier page.
    assert runs("contact", "b") == [("c", ["before-c", "c"]), ("d", ["d"]), (None, ["end"])]
    with pytest.raises(ValueError, match="listings"):
        injected.add("x", role="teacher", before=None)


async def test_a_page_never_ends_on_an_item_without_an_id_and_next_links_page_on_from_ones_with(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    district.random_changes(2, seed=1)
    for n in range(3):
        district.inject_event({"type": "users.created", "n": n})
    district.inject_event({"id": "odd-3", "type": None})
    district.random_changes(2, seed=2)
    district.inject_event(None, wrapped=False)  # the last: no event after it yet
    async with client(fake_clever) as http:
        bodies = await pages(http, "/v3.0/events?limit=2")
        newest = (await http.get("/v3.0/events?ending_before=last&limit=1")).json()
        single = await http.get("/v3.0/events/odd-3")
        prev = (await http.get("/v3.0/events?starting_after=odd-3&limit=1")).json()
    served = [entry for body in bodies for entry in body["data"]]
    assert served == district.served_entries()
    events = [event["id"] for event in district.events()]
    ends = [body["data"][-1] for body in bodies]
    # The three without an ID ride with the next entry that has one, past the limit.
    assert [len(body["data"]) for body in bodies] == [2, 4, 2, 1]
    assert [own_id(end) for end in ends[:-1]] == [events[1], "odd-3", events[3]]
    assert ends[-1] is None  # the feed's last page ends on it, with no next link
    assert [link["rel"] for link in bodies[-1]["links"]] == ["self"]
    assert [item["data"]["id"] for item in newest["data"]] == [district.events()[-1]["id"]]
    assert single.status_code == 404
    assert {link["rel"] for link in prev["links"]} == {"self", "next", "prev"}


async def test_users_injected_into_a_listing_ride_with_the_record_after_them(
    fake_clever: RunningFakeClever,
) -> None:
    district = fake_clever.district
    contacts = list(district.contact_ids())
    district.inject_user({"name": "no id"}, role="contact", before=contacts[3])
    district.inject_user({"id": "odd", "roles": []}, role="contact", before=contacts[3])
    district.inject_user(7, role="contact", wrapped=False)
    district.inject_user({"id": "s-odd"}, role="student", before=next(district.student_ids()))
    async with client(fake_clever) as http:
        bodies = await pages(http, "/v3.0/users?role=contact&limit=2")
        students = await pages(http, "/v3.0/users?role=student&limit=100")
        everyone = await pages(http, "/v3.0/users?limit=10000")
    served = [entry for body in bodies for entry in body["data"]]
    ids = [entry["data"].get("id") if isinstance(entry, dict) else entry for entry in served]
    assert ids == [*contacts[:3], None, "odd", *contacts[3:], 7]
    assert [own_id(body["data"][-1]) for body in bodies[:-1]] == contacts[1::2]
    assert students[0]["data"][0]["data"] == {"id": "s-odd"}
    assert len(everyone[0]["data"]) == len(contacts) + len(list(district.student_ids())) + 4


async def test_envelope_faults_serve_what_is_no_list_and_links_faults_replace_the_links(
    fake_clever: RunningFakeClever,
) -> None:
    fake = fake_clever.fake
    fake.faults.add("not_json", path_prefix="/v3.0/users")
    fake.faults.add("envelope", path_prefix="/v3.0/users")
    fake.faults.add("envelope", path_prefix="/v3.0/users", body={"data": {"id": "x"}})
    fake.faults.add("links", path_prefix="/v3.0/users", links="nope")
    fake.faults.add("links", path_prefix="/v3.0/users")
    async with client(fake_clever) as http:
        bodies = [(await http.get("/v3.0/users?limit=1")).content for _ in range(6)]
    assert bodies[0] == b"upstream connect error or disconnect/reset before headers"
    with pytest.raises(ValueError, match="Expecting value"):
        httpx.Response(200, content=bodies[0]).json()
    assert httpx.Response(200, content=bodies[1]).json() == {"links": [{"rel": "self", "uri": "/"}]}
    assert httpx.Response(200, content=bodies[2]).json() == {"data": {"id": "x"}}
    odd, broken, fine = (httpx.Response(200, content=b).json() for b in bodies[3:])
    assert odd["links"] == "nope"
    assert broken["links"] == [{"rel": "next"}]
    assert odd["data"] == broken["data"] == fine["data"]
