"""The query views on a running worker's web server, checked against Clever's ground truth."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakeclever import FakeClever, FakeDistrict
from streams.core.normalise import privilege_of
from tests.integration.connectors.poller_harness import (
    caught_up,
    district_entry,
    poller_settings,
    running_poller,
)
from tests.integration.streams.worker_harness import (
    Pair,
    converge,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration

Privilege = tuple[str | None, str, str | None, str]


def free_port() -> int:
    """A port nothing listens on now (the OS picks it), for the worker's web server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def privilege(relationship_raw: str | None, type_raw: str | None) -> dict[str, Any]:
    """What a view says of one pair: Clever's text, and the processor's reading of it."""
    normalised = privilege_of(relationship_raw, type_raw)
    return {
        "relationship": str(normalised.relationship),
        "relationship_raw": relationship_raw,
        "contact_type": str(normalised.contact_type),
        "contact_type_raw": type_raw,
    }


def expected_contacts(truth: frozenset[Pair], student: str) -> list[dict[str, Any]]:
    pairs = sorted(pair for pair in truth if pair[1] == student)
    return [{"contact_id": c, **privilege(rel, type_)} for c, _, rel, type_ in pairs]


def expected_students(truth: frozenset[Pair], contact: str) -> list[dict[str, Any]]:
    pairs = sorted((pair for pair in truth if pair[0] == contact), key=lambda pair: pair[1])
    return [{"student_id": s, **privilege(rel, type_)} for _, s, rel, type_ in pairs]


def orphan_a_student(district: FakeDistrict) -> str:
    """Take every contact away from a student (a contact left with none is deleted)."""
    student = sorted({pair[1] for pair in district.ground_truth()})[-1]
    for contact, related, _, _ in sorted(district.ground_truth()):
        if related == student:
            district.remove_relationship(contact, student)
    assert student in set(district.student_ids())
    return student


async def test_the_views_answer_each_students_contacts_and_each_contacts_students(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    fake = FakeClever()
    districts = [fake.add_district(seed=301, contacts=40), fake.add_district(seed=302, contacts=30)]
    # Raw text as messy as a district's SIS sends it, to see it come back untouched.
    first = districts[0]
    first_student = next(first.student_ids())
    related = {pair[0] for pair in first.ground_truth() if pair[1] == first_student}
    stranger = next(c for c in first.contact_ids() if c not in related)
    first.add_relationship(stranger, first_student, " grand  Parent", "emergency")
    orphan = orphan_a_student(first)
    assert orphan != first_student
    prefix, port = unique_name("p"), free_port()
    settings = worker_settings(
        bootstrap_servers, prefix, unique_name("app"), tmp_path,
        web_enabled=True, web_host="127.0.0.1", web_port=port,
    )  # fmt: skip
    async with fake.serve() as base_url:
        entries = [district_entry(district) for district in districts]
        poller = poller_settings(bootstrap_servers, base_url, prefix, entries)
        async with running_poller(poller), running_worker(settings):
            for district in districts:
                await caught_up(poller, district)

            def truth() -> frozenset[Pair]:
                return frozenset().union(*(district.ground_truth() for district in districts))

            await converge(bootstrap_servers, prefix, truth, timeout_s=60)

            web = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
            async with web:
                for district in districts:
                    known = district.ground_truth()
                    students = sorted({pair[1] for pair in known})[:6]
                    contacts = sorted({pair[0] for pair in known})[:6]
                    if district is first:
                        students += [first_student, orphan]
                    for student in [*students, "no-such-student"]:
                        path = f"/districts/{district.id}/students/{student}/contacts"
                        response = await web.get(path)
                        assert response.status_code == 200, response.text
                        assert response.json() == {
                            "district_id": district.id,
                            "student_id": student,
                            "contacts": expected_contacts(known, student),
                        }, path
                    for contact in [*contacts, "no-such-contact"]:
                        path = f"/districts/{district.id}/contacts/{contact}/students"
                        response = await web.get(path)
                        assert response.status_code == 200, response.text
                        assert response.json() == {
                            "district_id": district.id,
                            "contact_id": contact,
                            "students": expected_students(known, contact),
                        }, path

    # The answers above were not vacuous: messy raw text came back, and an empty list.
    assert (stranger, first_student, " grand  Parent", "emergency") in first.ground_truth()
    assert not expected_contacts(first.ground_truth(), orphan)
