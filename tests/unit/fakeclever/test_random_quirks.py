"""The random mixture: unchanged by default, and with ``quirks`` every quirk, on top of count."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from fakeclever import FakeClever, FakeDistrict
from fakeclever.changes import _cosmetic

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
#: sha256 of the mixture's JSON for seeds 1..3, recorded before ``quirks`` existed: the default
#: stream must never change (benchmarks compare runs across versions).
BEFORE_QUIRKS = {
    1: "29b54caaf67c0fd40b73c6a16fe14d95c9b77c7efaedb44c0675c466cf49460d",
    2: "ff66887f22847ff0ce6190813c5ba5bfdccb63c98f7841cb291f49c3c3ba1a43",
    3: "81703368093f57105d9e36a1756db808ab09f67c085ab513788a009976bc86d8",
}
QUIRKS = ("redeliver", "keep_listed", "recreate", "list_missing", "cosmetic")


def digest(seed: int) -> str:
    district = FakeClever(clock=lambda: NOW).add_district(seed=7, contacts=200)
    emitted = district.random_changes(200, seed=seed)
    body = {
        "emitted": emitted,
        "v3": district.events(),
        "v2": district.events("v2.1"),
        "truth": sorted(district.ground_truth(), key=repr),
        "counts": district.counts(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("seed", sorted(BEFORE_QUIRKS), ids=lambda s: f"seed-{s}")
def test_without_quirks_the_mixture_is_exactly_what_it_was(seed: int) -> None:
    assert digest(seed) == BEFORE_QUIRKS[seed]


def spy(district: FakeDistrict, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the quirks the mixture asks the district for."""
    seen: Counter[str] = Counter()
    calls = {
        "redeliver": lambda *a, **k: "redeliver",
        "delete_student": lambda *a, **k: "keep_listed" if k.get("keep_listed") else None,
        "create_student": lambda *a, **k: "recreate" if a and a[0] is not None else None,
        "add_relationship": lambda *a, **k: (
            "list_missing" if k.get("allow_missing_student") else None
        ),
    }
    for name, kind in calls.items():
        original = getattr(district, name)

        def wrapper(*args: Any, _original: Any = original, _kind: Any = kind, **kwargs: Any) -> Any:
            found = _kind(*args, **kwargs)
            if found:
                seen[found] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(district, name, wrapper)
    return seen


def cosmetic_updates(district: FakeDistrict) -> int:
    """Contact updates whose relationship entries changed in spelling only."""

    def norm(value: Any) -> str:
        return (value or "").strip().lower()

    count = 0
    for event in district.events():
        previous = event["data"].get("previous_attributes", {}).get("roles", {}).get("contact", {})
        if "student_relationships" not in previous:
            continue
        before = {e["student"]: e for e in previous["student_relationships"]}
        after = {
            e["student"]: e
            for e in event["data"]["object"]["roles"]["contact"]["student_relationships"]
        }
        changed = [s for s in after if s in before and after[s] != before[s]]
        if (
            changed
            and before.keys() == after.keys()
            and all(
                norm(before[s].get(k)) == norm(after[s].get(k))
                for s in changed
                for k in ("relationship", "type")
            )
        ):
            count += 1
    return count


@pytest.mark.parametrize("count", [1, 5, 40], ids=["one", "five", "forty"])
def test_with_quirks_count_still_means_count_new_events(count: int) -> None:
    district = FakeClever().add_district(seed=8, contacts=100)
    for seed in range(1, 6):
        before = district.events()
        emitted = district.random_changes(count, seed=seed, quirks=True)
        assert len(emitted) == count
        assert district.events() == before + emitted
    served = district.served_events()
    assert len(served) >= len(district.events())  # copies on top, when some were drawn
    assert {e["id"] for e in served} == {e["id"] for e in district.events()}


def test_with_quirks_every_quirk_shows_up_a_few_percent_of_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    district = FakeClever().add_district(seed=9, contacts=300)
    seen = spy(district, monkeypatch)
    district.random_changes(20, seed=1, quirks=True)
    for seed in range(2, 22):
        district.random_changes(100, seed=seed, quirks=True)
    operations = 20 + 20 * 100
    assert set(seen) == set(QUIRKS) - {"cosmetic"}
    for quirk, times in seen.items():
        assert operations * 0.01 < times < operations * 0.08, (quirk, times)
    assert cosmetic_updates(district) > operations * 0.01
    served_ids = Counter(e["id"] for e in district.served_events())
    assert max(served_ids.values()) > 1
    students = set(district.student_ids())
    listing_missing = [
        c
        for c in district.contact_ids()
        if any(
            e["student"] not in students
            for e in (district.contact(c) or {})["roles"]["contact"]["student_relationships"]
        )
    ]
    assert listing_missing
    deleted_ids = [
        e["data"]["object"]["id"]
        for e in district.events()
        if e["type"] == "users.deleted" and "student" in e["data"]["object"]["roles"]
    ]
    recreated = [
        e
        for e in district.events()
        if e["type"] == "users.created" and e["data"]["object"]["id"] in deleted_ids
    ]
    assert recreated


def test_with_quirks_a_trickle_of_small_batches_has_them_too() -> None:
    district = FakeClever().add_district(seed=10, contacts=60)
    for round_ in range(1, 400):
        assert len(district.random_changes(3, seed=round_, quirks=True)) == 3
    served = district.served_events()
    assert len(served) > len(district.events()) == 3 * 399
    assert len({e["id"] for e in served}) == len(district.events())


@pytest.mark.parametrize(
    "value",
    [None, "", "Parent", "Parent/Guardian", "parent", "  ", " Other ", "guardian", "Aunt/Uncle"],
)
def test_a_cosmetic_rewrite_changes_case_blanks_or_null_only(value: str | None) -> None:
    rng = random.Random(3)  # noqa: S311 - test data
    for _ in range(30):
        rewritten = _cosmetic(rng, value)
        assert rewritten != value
        assert (rewritten or "").strip().lower() == (value or "").strip().lower()
        assert isinstance(rewritten, str) or (rewritten is None and value == "")
