"""Faults are taken in order, by scope, and only as many times as asked."""

from __future__ import annotations

from typing import Any

import pytest

from fakeclever import Faults
from fakeclever.faults import retry_after_header


def test_a_fault_hits_its_scope_the_number_of_times_asked() -> None:
    faults = Faults()
    faults.add("server_error", times=2, district_id="d1", path_prefix="/v3.0/events", status=502)
    assert faults.take("d2", "/v3.0/events") is None
    assert faults.take("d1", "/v3.0/users") is None
    first, second = faults.take("d1", "/v3.0/events"), faults.take("d1", "/v3.0/events")
    assert first is not None
    assert first.status == 502
    assert second is first
    assert faults.take("d1", "/v3.0/events") is None
    assert faults.pending() == []


def test_faults_queue_in_the_order_added() -> None:
    faults = Faults()
    faults.add("slow", delay=0.5)
    faults.add("html")
    kinds = [getattr(faults.take(None, "/v3.0/users"), "kind", None) for _ in range(3)]
    assert kinds == ["slow", "html", None]


def test_envelope_and_links_faults_carry_what_they_serve() -> None:
    faults = Faults()
    assert faults.add("envelope").body == {"links": [{"rel": "self", "uri": "/"}]}
    assert faults.add("envelope", body=None).body is None
    assert faults.add("links").links == [{"rel": "next"}]
    assert faults.add("links", links={"next": 1}).links == {"next": 1}


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("nope", {}),
        ("server_error", {"status": 404}),
        ("slow", {"times": 0}),
        ("html", {"body": {}}),
        ("envelope", {"links": []}),
    ],
    ids=["unknown-kind", "not-5xx", "zero-times", "body-not-envelope", "links-not-links"],
)
def test_nonsense_faults_are_refused(kind: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        Faults().add(kind, **options)  # type: ignore[arg-type]


def test_retry_after_is_whole_seconds_when_whole() -> None:
    assert retry_after_header(2.0) == "2"
    assert retry_after_header(0.1) == "0.1"
