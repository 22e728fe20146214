"""``fake-clever serve``'s pure parts: how many districts trickle, the startup object."""

from __future__ import annotations

import pytest

from fakeclever import FakeClever
from fakeclever.cli import busy_count, startup_object


@pytest.mark.parametrize(
    ("districts", "share", "busy"),
    [(10_000, 0.01, 100), (200, 0.01, 2), (50, 0.01, 1), (7, 1.0, 7), (7, 0.0, 0), (3, 0.5, 2)],
    ids=["ten-thousand", "two-hundred", "at-least-one", "all", "none", "rounded-up"],
)
def test_the_busy_share_rounds_up_to_whole_districts(
    districts: int, share: float, busy: int
) -> None:
    assert busy_count(districts, share) == busy


def test_the_startup_object_marks_the_busy_districts_and_the_big_one_apart() -> None:
    fake = FakeClever()
    small = [fake.add_district(seed=n, contacts=2) for n in range(3)]
    big = fake.add_district(seed=9, contacts=1_000_000)
    found = startup_object("http://x", small, busy=1, big=big)
    assert found == {
        "base_url": "http://x",
        "districts": [{"id": d.id, "token": d.token, "busy": n == 0} for n, d in enumerate(small)],
        "big": {"id": big.id, "token": big.token},
    }
    assert "big" not in startup_object("http://x", small, busy=0, big=None)
