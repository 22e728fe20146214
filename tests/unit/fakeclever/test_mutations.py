"""Each change emits the events Clever would, in Clever's batch order, on both feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fakeclever import FakeClever, FakeDistrict, InvalidChangeError
from fakeclever.records import has_sis_id
from tests.fake_clever_fixtures import present


@pytest.fixture
def district() -> FakeDistrict:
    return FakeClever().add_district(seed=12, contacts=80)


def a_contact(district: FakeDistrict, *, sis_id: bool, relationships: int = 1) -> str:
    for contact_id in district.contact_ids():
        contact = district.contact(contact_id)
        assert contact is not None
        entries = contact["roles"]["contact"]["student_relationships"]
        if has_sis_id(contact) == sis_id and len(entries) >= relationships:
            return contact_id
    raise AssertionError("no such contact in the generated district")


def students_of(district: FakeDistrict, contact_id: str) -> list[str]:
    contact = district.contact(contact_id) or {}
    return [e["student"] for e in contact["roles"]["contact"]["student_relationships"]]


def other_student(district: FakeDistrict, contact_id: str) -> str:
    return next(s for s in district.student_ids() if s not in students_of(district, contact_id))


def test_a_new_district_has_no_events(district: FakeDistrict) -> None:
    assert district.events() == []
    assert district.events("v2.1") == []


def test_adding_a_relationship_is_one_update_with_previous_attributes_inside_data(
    district: FakeDistrict,
) -> None:
    contact_id = a_contact(district, sis_id=False)
    before = present(district.contact(contact_id))
    student = other_student(district, contact_id)
    [event] = district.add_relationship(contact_id, student, "Grandparent", "Family")
    assert event["type"] == "users.updated"
    assert event["data"]["object"] == district.contact(contact_id)
    assert "previous_attributes" not in event
    previous = event["data"]["previous_attributes"]
    old_entries = before["roles"]["contact"]["student_relationships"]
    assert previous["roles"]["contact"] == {"student_relationships": old_entries}
    assert previous["last_modified"] == before["last_modified"]
    assert (contact_id, student, "Grandparent", "Family") in district.ground_truth()
    [v2_event] = district.events("v2.1")
    assert v2_event["type"] == "contacts.created"
    assert v2_event["data"]["object"]["students"] == [student]
    assert district.events() == [event]
    assert event["created"].endswith("Z")
    assert len(event["created"]) == len("2015-09-30T21:07:57.525Z")


def test_removing_and_changing_relationships(district: FakeDistrict) -> None:
    contact_id = a_contact(district, sis_id=True, relationships=2)
    first, second = students_of(district, contact_id)[:2]
    [changed] = district.change_relationship(contact_id, first, relationship="Other", type="")
    [removed] = district.remove_relationship(contact_id, second)
    assert [changed["type"], removed["type"]] == ["users.updated", "users.updated"]
    truth = {pair[:2]: pair for pair in district.ground_truth()}
    assert truth[(contact_id, first)] == (contact_id, first, "Other", "")
    assert (contact_id, second) not in truth
    v2_types = [e["type"] for e in district.events("v2.1")]
    assert v2_types == ["contacts.created", "contacts.deleted", "contacts.deleted"]


def test_removing_the_last_relationship_deletes_the_contact(district: FakeDistrict) -> None:
    contact_id = a_contact(district, sis_id=True)
    students = students_of(district, contact_id)
    events = [e for s in students for e in district.remove_relationship(contact_id, s)]
    assert events[-1]["type"] == "users.deleted"
    assert district.contact(contact_id) is None


def test_contact_info_change_keeps_the_id_only_with_an_sis_id(district: FakeDistrict) -> None:
    stable = a_contact(district, sis_id=True)
    [updated] = district.update_contact(stable, phone="1-(330) 280-1898")
    assert updated["type"] == "users.updated"
    assert updated["data"]["previous_attributes"]["roles"]["contact"].keys() == {"phone"}

    unstable = a_contact(district, sis_id=False)
    old = present(district.contact(unstable))
    created, deleted = district.update_contact(unstable, email="new@example.com")
    assert [created["type"], deleted["type"]] == ["users.created", "users.deleted"]
    assert deleted["data"]["object"] == old
    new = created["data"]["object"]
    assert new["id"] != unstable
    assert new["email"] == "new@example.com"
    assert (
        new["roles"]["contact"]["student_relationships"]
        == (old["roles"]["contact"]["student_relationships"])
    )
    assert district.contact(unstable) is None
    assert district.contact(new["id"]) == new


def test_deleting_a_student_updates_its_contacts_first(district: FakeDistrict) -> None:
    student = next(s for s in district.student_ids() if district.store.contacts_of(s))
    contacts = district.store.contacts_of(student)
    events = district.delete_student(student)
    assert events[-1]["type"] == "users.deleted"
    assert events[-1]["data"]["object"]["id"] == student
    for event in events[:-1]:
        assert event["data"]["object"]["id"] in contacts
        assert event["type"] in ("users.updated", "users.deleted")
    assert not any(pair[1] == student for pair in district.ground_truth())
    v2_types = [e["type"] for e in district.events("v2.1")]
    assert v2_types[-1] == "students.deleted"


def test_a_batch_is_ordered_as_clever_orders_one(district: FakeDistrict) -> None:
    students = list(district.student_ids(3))
    with district.batch():
        district.delete_contact(a_contact(district, sis_id=True))
        district.update_contact(a_contact(district, sis_id=True, relationships=2), phone="1")
        new_id, inside = district.create_contact([students[0]], sis_id="S-1")
        district.delete_student(students[2])
        assert inside[0]["id"] == ""  # IDs are given when the batch ends
    events = district.events()
    ranks = {"created": 0, "updated": 1, "deleted": 2}
    actions = [ranks[e["type"].split(".")[1]] for e in events]
    assert actions == sorted(actions)
    deleted = [e["data"]["object"] for e in events if e["type"] == "users.deleted"]
    kinds = ["contact" if "contact" in u["roles"] else "student" for u in deleted]
    assert kinds == sorted(kinds)  # contacts before students
    assert inside[0]["id"] == events[0]["id"]
    assert events[0]["data"]["object"]["id"] == new_id


def test_repeats_get_new_ids_and_keep_type_and_data(district: FakeDistrict) -> None:
    district.random_changes(5, seed=1)
    originals = district.events()[-3:]
    repeats = district.repeat_events(3)
    assert [e["id"] for e in district.events()[-3:]] == [e["id"] for e in repeats]
    for original, repeat in zip(originals, repeats, strict=True):
        assert repeat["id"] > original["id"]
        assert (repeat["type"], repeat["data"]) == (original["type"], original["data"])
    assert len({e["id"] for e in district.events()}) == len(district.events())


@pytest.mark.parametrize("count", [1, 7, 60], ids=["one", "seven", "sixty"])
def test_random_changes_emit_exactly_count_events(district: FakeDistrict, count: int) -> None:
    events = district.random_changes(count, seed=count)
    assert len(events) == count
    assert district.events() == events


def test_ground_truth_is_the_fold_of_the_events(district: FakeDistrict) -> None:
    pairs = {
        cid: [(cid, e["student"], e.get("relationship"), e.get("type")) for e in entries]
        for cid in district.contact_ids()
        for entries in [present(district.contact(cid))["roles"]["contact"]["student_relationships"]]
    }
    district.random_changes(300, seed=3)
    for event in district.events():
        user = event["data"]["object"]
        if event["type"] == "users.deleted":
            pairs.pop(user["id"], None)
        elif "contact" in user["roles"]:
            entries = user["roles"]["contact"]["student_relationships"]
            pairs[user["id"]] = [
                (user["id"], e["student"], e.get("relationship"), e.get("type")) for e in entries
            ]
    assert frozenset(p for ps in pairs.values() for p in ps) == district.ground_truth()


def test_v2_feed_has_one_record_per_pair_and_studentcontacts_naming() -> None:
    district = FakeClever().add_district(seed=13, contacts=30, studentcontacts_naming=True)
    district.random_changes(40, seed=2)
    types = {e["type"] for e in district.events("v2.1")}
    assert types <= {f"studentcontacts.{a}" for a in ("created", "deleted")} | {"students.deleted"}
    for event in district.events("v2.1"):
        record = event["data"]["object"]
        if event["type"].startswith("studentcontacts."):
            assert isinstance(record["name"], str)
            assert len(record["students"]) == 1


def test_expired_and_aged_events_leave_the_window() -> None:
    now = [datetime(2025, 1, 1, tzinfo=UTC)]
    district = FakeClever(clock=lambda: now[0]).add_district(seed=14, contacts=20)
    district.random_changes(4, seed=1)
    district.expire_events()
    assert district.events() == []
    district.random_changes(2, seed=2)
    assert len(district.events()) == 2
    now[0] += timedelta(days=31)
    assert district.events() == []


def test_rollover_makes_more_events_than_records(district: FakeDistrict) -> None:
    records = district.counts()["students"] + district.counts()["contacts"]
    truth = district.ground_truth()
    events = district.rollover()
    assert len(events) > records
    assert {e["type"] for e in events} == {"users.updated"}
    assert district.ground_truth() == truth


def test_impossible_changes_are_refused(district: FakeDistrict) -> None:
    contact_id = a_contact(district, sis_id=True)
    with pytest.raises(InvalidChangeError):
        district.add_relationship(contact_id, students_of(district, contact_id)[0])
    with pytest.raises(InvalidChangeError):
        district.remove_relationship(contact_id, other_student(district, contact_id))
