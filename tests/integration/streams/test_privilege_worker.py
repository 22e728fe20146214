"""The privilege worker on the real broker, fed by the real poller from the fake Clever."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeclever import FakeClever, FakeDistrict
from schemas.values import ChangeKind
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    converge,
    current_state,
    privilege_changes,
    replay,
    running_worker,
    symbols,
    worker_settings,
)
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_the_state_topic_and_the_replayed_changes_equal_clevers_ground_truth(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=101, contacts=60)
    prefix = unique_name("p")
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        settings = worker_settings(bootstrap_servers, prefix, unique_name("app"), tmp_path)
        async with running_poller(poller), running_worker(settings):
            await caught_up(poller, district)
            district.random_changes(40, seed=1)
            district.repeat_events(5)
            await caught_up(poller, district)

            async def converged() -> bool:
                return await current_state(bootstrap_servers, prefix) == district.ground_truth()

            await eventually(converged, timeout_s=60, what="the state topic to match Clever")

    changes = await privilege_changes(bootstrap_servers, prefix)
    assert replay(changes, district.id) == symbols(district.ground_truth())
    assert len({c.change_id for c in changes}) == len(changes)
    kinds = Counter(change.kind for change in changes)
    assert kinds[ChangeKind.GRANTED] >= len(district.ground_truth())


def _contact_without_sis_id(district: FakeDistrict) -> str:
    """A contact Clever would re-create under a new ID, in one capacity for all its students."""
    for contact_id in district.contact_ids():
        user = district.contact(contact_id) or {}
        role = (user.get("roles") or {}).get("contact") or {}
        entries = role.get("student_relationships") or []
        capacities = {(entry.get("relationship"), entry.get("type")) for entry in entries}
        if not role.get("sis_id") and entries and len(capacities) == 1:
            return contact_id
    raise AssertionError("the fake district has no contact without an sis_id")


def _relationships(district: FakeDistrict, contact_id: str) -> list[dict[str, str]]:
    user = district.contact(contact_id) or {}
    return list(user["roles"]["contact"]["student_relationships"])


async def test_a_scripted_mixture_and_a_forced_resync_end_in_clevers_ground_truth(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    district = fake.add_district(seed=102, contacts=50)
    prefix = unique_name("p")
    contacts = list(district.contact_ids())
    students = list(district.student_ids())
    async with fake.serve() as base_url:
        poller = poller_settings(bootstrap_servers, base_url, prefix, [district_entry(district)])
        settings = worker_settings(bootstrap_servers, prefix, unique_name("app"), tmp_path)
        async with running_worker(settings):
            async with running_poller(poller) as runner:
                await caught_up(poller, district)
                # Creates, updates and deletes of every kind the seeds describe.
                district.create_contact([students[0], students[1]], relationship="Parent")
                district.add_relationship(contacts[0], students[5], "Grandparent", "Family")
                district.change_relationship(
                    contacts[1],
                    _relationships(district, contacts[1])[0]["student"],
                    type="Emergency",
                )
                district.remove_relationship(
                    contacts[2], _relationships(district, contacts[2])[0]["student"]
                )
                district.update_contact(contacts[3], phone="(330) 280-1898")
                district.delete_contact(contacts[4])
                district.delete_student(students[7])
                district.repeat_events(4)
                # A guardian re-created under a new ID: deleted, then created alike.
                reissued = _contact_without_sis_id(district)
                kept = _relationships(district, reissued)
                district.delete_contact(reissued)
                new_id, _ = district.create_contact(
                    [entry["student"] for entry in kept],
                    relationship=kept[0].get("relationship"),
                    type=kept[0].get("type"),
                )
                await caught_up(poller, district)
            # Clever changes while no poller runs; then the operator forces a resync.
            district.delete_contact(contacts[10])
            district.random_changes(10, seed=3)
            async with running_poller(poller) as runner:
                await caught_up(poller, district)
                runner.request_resync("test: forced")
                district.random_changes(5, seed=4)

                await converge(bootstrap_servers, prefix, district.ground_truth, timeout_s=60)

    changes = await privilege_changes(bootstrap_servers, prefix)
    assert replay(changes, district.id) == symbols(district.ground_truth())
    assert len({c.change_id for c in changes}) == len(changes)
    grants_of_new = [c for c in changes if c.contact_id == new_id and c.kind == ChangeKind.GRANTED]
    assert grants_of_new
    assert {c.reissued_from_contact_id for c in grants_of_new} == {reissued}
    revokes_of_deleted = [c for c in changes if c.contact_id == reissued]
    assert revokes_of_deleted
    assert all(c.kind == ChangeKind.REVOKED for c in revokes_of_deleted[-len(kept) :])
