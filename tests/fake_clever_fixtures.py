"""A running fake Clever for any test: ``fake_clever`` serves one small district on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from fakeclever import FakeClever, FakeDistrict


@dataclass(frozen=True)
class RunningFakeClever:
    """The fake, where it listens, and its default district (40 contacts, seed 1)."""

    fake: FakeClever
    base_url: str
    district: FakeDistrict

    def headers(self, district: FakeDistrict | None = None) -> dict[str, str]:
        """The bearer header of a district (the default one unless given)."""
        return {"Authorization": f"Bearer {(district or self.district).token}"}


def present(user: dict[str, Any] | None) -> dict[str, Any]:
    """A record the test expects to exist (fails the test if it does not)."""
    assert user is not None, "the record is not in the fake district"
    return user


@pytest.fixture
async def fake_clever() -> AsyncIterator[RunningFakeClever]:
    """A fake Clever serving on 127.0.0.1 on a free port, stopped after the test."""
    fake = FakeClever()
    district = fake.add_district(seed=1, contacts=40)
    async with fake.serve() as base_url:
        yield RunningFakeClever(fake, base_url, district)
