"""The generated district: deterministic, ascending IDs, lazy at a million, messy like SIS data."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from multidict import MultiDict

from fakeclever import FakeClever
from fakeclever.pages import PageRequest, envelope, objects
from fakeclever.segments import page_ids
from tests.fake_clever_fixtures import present

HEX24 = re.compile(r"^[0-9a-f]{24}$")


def snapshot(seed: int) -> list[dict[str, Any] | None]:
    district = FakeClever().add_district(seed=seed, contacts=60)
    ids = [*district.student_ids(), *district.contact_ids()]
    return [district.store.user(i) for i in ids]


def test_same_seed_same_district_and_another_seed_another() -> None:
    assert snapshot(3) == snapshot(3)
    assert snapshot(3) != snapshot(4)


def test_ids_are_24_hex_ascending_and_events_apart_from_records() -> None:
    district = FakeClever().add_district(seed=5, contacts=100)
    students, contacts = list(district.student_ids()), list(district.contact_ids())
    assert len(students) == 50
    assert len(contacts) == 100
    assert all(HEX24.match(i) for i in students + contacts)
    assert students + contacts == sorted(students + contacts)
    new_id, _ = district.create_contact([students[0]], sis_id="X1")
    assert new_id > contacts[-1]
    event_ids = [e["id"] for e in district.events()]
    assert event_ids == sorted(event_ids)
    assert not set(event_ids) & set(students + contacts + [new_id])


def test_every_contact_relates_to_existing_students_and_mycontacts_agrees() -> None:
    district = FakeClever().add_district(seed=6, contacts=120, students=70)
    store = district.store
    for contact_id in district.contact_ids():
        entries = present(district.contact(contact_id))["roles"]["contact"]["student_relationships"]
        assert entries
        for entry in entries:
            assert district.student(entry["student"]) is not None
            assert contact_id in store.contacts_of(entry["student"])
    assert sum(len(store.contacts_of(s)) for s in district.student_ids()) == len(
        district.ground_truth()
    )


def test_a_million_contacts_are_added_lazily_and_the_last_page_served() -> None:
    fake = FakeClever()
    district = fake.add_district(seed=7, contacts=1_000_000)
    assert district.counts()["contacts"] == 1_000_000
    assert district.counts()["students"] == 500_000
    assert district.store.users == {}
    last = district.store.population.contact_id(1_000_000 - 10_001)
    request = PageRequest.parse(
        "/v3.0/users", MultiDict(role="contact", limit="10000", starting_after=last)
    )
    ids = page_ids(district.store.id_segments("contact"), after=last)
    body = envelope(request, forward=objects(ids, district.store.user), backward=None, uri=str)
    assert len(body["data"]) == 10_000
    assert body["data"][-1]["data"]["id"] == district.store.population.contact_id(999_999)
    assert "next" not in {link["rel"] for link in body["links"]}
    assert len(district.store.population._cache) <= 8192  # noqa: SLF001 - the point: the layout cache stays bounded


def test_a_few_hundred_contacts_carry_the_messiness_of_sis_data() -> None:
    district = FakeClever().add_district(seed=8, contacts=400)
    contacts = [present(district.contact(i)) for i in district.contact_ids()]
    roles = [c["roles"]["contact"] for c in contacts]
    phones = {r["phone"] for r in roles if r["phone"]}
    assert any(re.fullmatch(r"\d{10,11}", p) for p in phones)
    assert any(re.search(r"[()\- .]", p) for p in phones)
    entries = [e for r in roles for e in r["student_relationships"]]
    types = Counter(e.get("type") for e in entries)
    relationships = Counter(e.get("relationship", "<absent>") for e in entries)
    assert {"Parent/Guardian", "Emergency", "other", "guardian", "Grandparent"} <= set(types)
    assert {"Parent", "", None, "<absent>"} <= set(relationships)
    assert any(e.get("relationship") == "" and e.get("type") == "Grandparent" for e in entries)
    assert {r.get("sis_id", "<absent>") for r in roles} >= {"", None, "<absent>"}
    assert any(r.get("sis_id") for r in roles)
    assert all(r["legacy_id"] for r in roles)
    assert any(set(c["name"]) == {"last"} and " " in c["name"]["last"] for c in contacts)
    assert {r["phone_type"] for r in roles} >= {"Cell", "Home", "Work", "Other", ""}
    assert any(len(r["student_relationships"]) > 1 for r in roles)


def test_student_users_have_clevers_student_role_shape() -> None:
    district = FakeClever().add_district(seed=9, contacts=10)
    student = district.student(next(district.student_ids()))
    assert student is not None
    role = student["roles"]["student"]
    assert {"dob", "grade", "school", "schools", "sis_id", "legacy_id", "enrollments"} <= set(role)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", role["dob"])
    assert student["district"] == district.id
