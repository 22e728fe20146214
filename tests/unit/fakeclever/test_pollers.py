"""Which poller asked: runs by User-Agent, two owners told from a handover, the busiest minute."""

from __future__ import annotations

import time

import pytest

from fakeclever import FakeClever
from fakeclever.pollers import MinuteCounts, PollerLog, PollerRun, overlaps


def log_of(pattern: str, *, step_s: float = 1.0, start: float = 0.0) -> list[PollerRun]:
    """The runs of requests ``pattern`` makes, one agent letter per request, ``step_s`` apart
    (a space: a pause of 1,000 steps)."""
    log = PollerLog()
    at = start
    for letter in pattern:
        if letter == " ":
            at += 1000 * step_s
            continue
        log.record("d1", letter, at)
        at += step_s
    return log.runs("d1")


def test_runs_are_maximal_blocks_of_one_agent_timed_first_to_last() -> None:
    assert log_of("AAABBA") == [
        PollerRun("A", 0.0, 2.0, 3),
        PollerRun("B", 3.0, 4.0, 2),
        PollerRun("A", 5.0, 5.0, 1),
    ]


@pytest.mark.parametrize(
    ("pattern", "agents"),
    [
        ("AAAAA", set()),
        ("AAAABBBB", set()),
        ("AAAABABBB", set()),  # the old owner's poll in flight at the handover
        ("AAAA BBBB AAAA", set()),  # a real move back, after a long absence
        ("ABABAB", {("A", "B")}),
        ("AABABBABA", {("A", "B")}),
        ("AAABBBAAABBB", {("A", "B")}),  # two syncs of one district, page by page
        ("AAAACACAC", {("A", "C")}),
    ],
    ids=[
        "one-owner", "handover", "handover-straggler", "move-back", "alternating",
        "uneven-turns", "two-syncs", "third-agent",
    ],
)  # fmt: skip
def test_two_owners_at_once_are_told_from_handovers(
    pattern: str, agents: set[tuple[str, str]]
) -> None:
    found = overlaps("d1", log_of(pattern), gap_s=60.0)
    assert {(o.first_agent, o.second_agent) for o in found} == agents
    assert all(o.district_id == "d1" and o.requests > 1 for o in found)


def test_turns_further_apart_than_the_gap_are_moves_not_two_owners() -> None:
    runs = log_of("AAABBBAAABBB", step_s=10.0)
    assert overlaps("d1", runs, gap_s=15.0) == []
    assert [o.requests for o in overlaps("d1", runs, gap_s=45.0)] == [3]


def test_a_larger_tolerance_forgives_more_turns() -> None:
    runs = log_of("ABABAB")
    assert overlaps("d1", runs, gap_s=60.0, tolerance=2) == []


def test_the_log_keeps_a_bounded_number_of_runs_per_district() -> None:
    log = PollerLog(max_runs=3)
    for n in range(10):
        log.record("d1", "AB"[n % 2], float(n))
    assert [run.first_at for run in log.runs("d1")] == [7.0, 8.0, 9.0]
    assert log.districts() == ["d1"]
    assert log.agents() == {"A", "B"}


def test_minute_counts_keep_the_busiest_minute_of_any_token() -> None:
    counts = MinuteCounts()
    for _ in range(3):
        counts.count("t1", 100)
    assert counts.count("t1", 101) == 1
    counts.count("t2", 101)
    assert counts.used("t1", 101) == 1
    assert counts.used("t1", 102) == 0
    assert counts.busiest() == 3
    assert counts.busiest(["t2"]) == 1
    assert counts.busiest([]) == 0


def test_the_fake_finds_districts_by_id_and_records_their_pollers() -> None:
    fake = FakeClever()
    made = [fake.add_district(seed=n, contacts=2) for n in range(500)]
    assert fake.district(made[321].id) is made[321]
    assert fake.districts == made
    with pytest.raises(KeyError):
        fake.district("nope")
    with pytest.raises(ValueError, match="already exists"):
        fake.add_district(district_id=made[0].id)
    now = time.monotonic()
    for n, agent in enumerate("ABABAB"):
        fake.record_poller(made[1], agent, now + n)
        fake.rate_limit_headers(made[1])
    fake.record_poller(made[2], "A", now)
    assert [run.user_agent for run in fake.poller_runs(made[1].id)] == list("ABABAB")
    assert [o.district_id for o in fake.overlapping_runs()] == [made[1].id]
    assert fake.busiest_minute() >= 3  # six requests, at most two wall-clock minutes
    stats = fake.stats()
    assert stats["overlapping"] == [made[1].id]
    assert stats["polled"] == 2
    assert stats["agents"] == ["A", "B"]


def test_ten_thousand_districts_are_added_and_found_by_id() -> None:
    fake = FakeClever()
    ids = [fake.add_district(seed=n, contacts=1).id for n in range(10_000)]
    assert all(fake.district(district_id).id == district_id for district_id in ids)
    made = fake.make_changes(ids[-1], 2)
    assert len(made) >= 2
    assert [e["id"] for e in fake.district(ids[-1]).events()][-len(made) :] == made
