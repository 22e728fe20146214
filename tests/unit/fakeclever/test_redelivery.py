"""Clever re-sending earlier events under their own IDs: where the copies are served."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fakeclever import FakeClever, FakeDistrict, UnknownRecordError
from fakeclever.events import Event, page_groups


@pytest.fixture
def district() -> FakeDistrict:
    return FakeClever().add_district(seed=21, contacts=60)


def ids(events: list[Event]) -> list[str]:
    return [event["id"] for event in events]


def sis_contact(district: FakeDistrict, nth: int = 0) -> str:
    found = [
        c
        for c in district.contact_ids()
        if (district.contact(c) or {})["roles"]["contact"].get("sis_id")
    ]
    return found[nth]


def test_copies_wait_for_the_next_new_event_and_come_just_before_it(
    district: FakeDistrict,
) -> None:
    first = district.random_changes(4, seed=1)
    copies = district.redeliver(2)
    assert copies == first[-2:]  # unchanged: same IDs, same content
    assert all(c is not o for c, o in zip(copies, first[-2:], strict=True))
    assert district.served_events() == first  # nothing new yet: the copies wait
    later = district.update_contact(sis_contact(district), phone="3302801898")
    assert district.events() == first + later  # the originals only
    assert district.served_events() == [*first, *copies, *later]
    assert district.served_events(after=first[1]["id"]) == [*first[2:], *copies, *later]
    assert district.served_events(after=first[-1]["id"]) == [*copies, *later]
    assert district.served_events(after=later[-1]["id"]) == []


def test_an_adjacent_duplicate_and_chosen_event_ids_in_their_order(
    district: FakeDistrict,
) -> None:
    first = district.random_changes(3, seed=2)
    [copy] = district.redeliver(1)
    second = district.update_contact(sis_contact(district), phone="3302801898")
    assert ids(district.served_events()) == ids([*first, copy, *second])  # 3rd twice in a row
    chosen = [second[0]["id"], first[0]["id"]]
    copies = district.redeliver(event_ids=chosen)
    assert ids(copies) == chosen
    third = district.update_contact(sis_contact(district, 1), phone="2165550101")
    assert district.served_events(after=second[-1]["id"]) == [*copies, *third]


def test_inside_a_batch_copies_of_flushed_events_precede_the_batchs_first_event(
    district: FakeDistrict,
) -> None:
    before = district.random_changes(3, seed=3)
    with district.batch():
        district.update_contact(sis_contact(district), phone="3302801898")
        copies = district.redeliver(2)
        district.delete_contact(sis_contact(district, 1))
    batch = district.events()[3:]
    assert copies == before[-2:]
    assert district.served_events() == [*before, *copies, *batch]


def test_the_v2_feed_has_its_own_copies(district: FakeDistrict) -> None:
    district.random_changes(3, seed=4)
    v2 = district.events("v2.1")
    copies = district.redeliver(api_version="v2.1")
    assert copies == v2[-1:]
    district.update_contact(sis_contact(district), phone="3302801898")
    assert len(district.served_events()) == len(district.events())
    served = district.served_events(api_version="v2.1")
    assert served[len(v2)] == v2[-1]
    assert len(served) == len(district.events("v2.1")) + 1


def test_unknown_event_ids_are_refused(district: FakeDistrict) -> None:
    district.random_changes(2, seed=5)
    with pytest.raises(UnknownRecordError):
        district.redeliver(event_ids=["0" * 24])
    with pytest.raises(UnknownRecordError):
        district.served_events(after="0" * 24)
    assert district.feed("v3.0").served_after("nonsense") is None
    assert district.redeliver(0) == []


def test_copies_go_with_their_position_when_it_expires() -> None:
    now = [datetime(2025, 1, 1, tzinfo=UTC)]
    district = FakeClever(clock=lambda: now[0]).add_district(seed=22, contacts=30)
    district.random_changes(2, seed=1)
    district.redeliver(2)
    district.random_changes(1, seed=2)
    assert len(district.served_events()) == 5
    now[0] += timedelta(days=31)
    district.random_changes(1, seed=3)
    assert district.served_events() == district.events()
    assert len(district.events()) == 1
    district.redeliver(1)
    district.expire_events()  # what was waiting goes too
    district.random_changes(1, seed=4)
    assert district.served_events() == district.events()


def test_page_groups_never_end_a_run_on_a_copy_even_with_a_filter() -> None:
    def event(n: int, kind: str) -> Event:
        return {"id": f"e{n}", "type": f"{kind}.updated"}

    served = [
        (event(0, "students"), False),
        (event(0, "students"), True),  # a kept copy before a filtered-out original
        (event(1, "contacts"), False),
        (event(2, "students"), False),
        (event(1, "contacts"), True),
        (event(2, "students"), True),  # trailing: no kept original after it yet
        (event(3, "contacts"), False),
    ]
    students = list(page_groups(served, lambda e: e["type"].startswith("students")))
    assert [(cursor, ids(run)) for cursor, run in students] == [
        ("e0", ["e0"]),
        ("e2", ["e0", "e2"]),
    ]
    everything = list(page_groups(served, lambda e: True))
    assert [cursor for cursor, _ in everything] == ["e0", "e1", "e2", "e3"]
    assert sum(len(run) for _, run in everything) == len(served)
