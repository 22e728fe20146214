"""End to end from Clever's feed: changes mapped to their cause events' ``created``, timed,
split into stretches, and judged against poll interval + 0.5 s."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from bench.end_to_end import EndToEndConfig
from bench.end_to_end_figures import (
    ChangeSighting,
    EndToEndFigures,
    RawSighting,
    Timed,
    end_to_end_figures,
)
from bench.peer_tables import end_to_end_goal_rows, end_to_end_table

T0 = 1_700_000_000.0


def raw(created: float, *, fetched: float, seen: float, offset: int = 0) -> RawSighting:
    return RawSighting(
        district_id="d1", created=created, fetched=fetched, seen=seen, partition=0, offset=offset
    )


def change(change_id: str, cause: str | None, seen: float) -> ChangeSighting:
    return ChangeSighting(change_id=change_id, cause=cause, seen=seen)


def figures_of(
    totals_ms: list[float], *, poll_interval_s: float = 1.0, unpublished: int = 0
) -> EndToEndFigures:
    """Figures whose changes took ``totals_ms``, each split 70/10/20 into the stretches."""
    timed = tuple(Timed(ms, ms * 0.7, ms * 0.1, ms * 0.2) for ms in sorted(totals_ms))
    return EndToEndFigures(
        poll_interval_s=poll_interval_s, districts=3, window_s=30.0,
        events=len(timed) + unpublished, published=len(timed), changed=len(timed), timed=timed,
    )  # fmt: skip


def test_each_change_is_timed_from_its_cause_events_created_in_clevers_feed() -> None:
    created = {
        "e-before": T0 - 1,
        "e1": T0 + 1,
        "e2": T0 + 2,
        "e-quiet": T0 + 3,
        "e-after": T0 + 10,
    }
    sightings = {
        "e1": raw(T0 + 1, fetched=T0 + 1.5, seen=T0 + 1.6),
        "e2": raw(T0 + 2, fetched=T0 + 2.25, seen=T0 + 2.3, offset=1),
        "e-quiet": raw(T0 + 3, fetched=T0 + 3.5, seen=T0 + 3.6, offset=2),
    }
    changes = [
        change("c0", "e-before", T0 + 0.5),  # created before the window: not timed
        change("c1", "e1", T0 + 1.8),
        change("c2", "e1", T0 + 1.9),  # an event's second change is timed too
        change("c1", "e1", T0 + 5.0),  # the same change again: a duplicate, not timed
        change("c3", "e2", T0 + 2.5),
        change("c4", None, T0 + 2.6),  # a sync's change has no cause event
        change("c5", "e-after", T0 + 10.5),  # created at the window's end: not in it
    ]

    figures = end_to_end_figures(
        created=created, raw=sightings, changes=changes, window=(T0, T0 + 10),
        poll_interval_s=1.0, districts=1,
    )  # fmt: skip

    assert (figures.events, figures.published, figures.changed) == (3, 3, 2)
    assert figures.duplicates == 1
    assert [round(row.total_ms) for row in figures.timed] == [500, 800, 900]
    fastest = figures.timed[0]  # e2: 250 ms to the poll, 50 in the poller, 200 in the worker
    assert (round(fastest.wait_ms), round(fastest.poller_ms), round(fastest.worker_ms)) == (
        250, 50, 200,
    )  # fmt: skip
    assert figures.window_s == 10
    assert figures.goal_ms == 1500


def test_an_unpublished_event_counts_as_slowest_and_a_change_without_its_raw_record_is_timed() -> (
    None
):
    created = {"e1": T0 + 1, "e2": T0 + 2}
    figures = end_to_end_figures(
        created=created, raw={}, changes=[change("c1", "e1", T0 + 1.4)], window=(T0, T0 + 10),
        poll_interval_s=1.0, districts=1,
    )  # fmt: skip

    assert (figures.events, figures.published, figures.unpublished) == (2, 0, 2)
    assert round(figures.timed[0].total_ms) == 400
    assert math.isnan(figures.timed[0].wait_ms)
    assert math.isinf(figures.p(100))
    assert not figures.met
    assert figures.to_pass() == "every event published: 2 never reached the raw topic"


@pytest.mark.parametrize(
    ("q", "expected"),
    [pytest.param(50, 500.0, id="p50"), pytest.param(99, 990.0, id="p99"),
     pytest.param(99.9, 1000.0, id="p99.9"), pytest.param(100, 1000.0, id="max")],
)  # fmt: skip
def test_percentiles_are_nearest_rank_over_the_changes(q: float, expected: float) -> None:
    figures = figures_of([float(ms) for ms in range(10, 1001, 10)])  # 100 changes

    assert figures.p(q) == expected


def test_the_goal_is_the_poll_interval_plus_half_a_second() -> None:
    met = figures_of([900.0] * 99 + [1500.0], poll_interval_s=1.0)
    missed = figures_of([900.0] * 98 + [2000.0, 2000.0], poll_interval_s=1.0)
    slow_poll = figures_of([900.0] * 98 + [5000.0, 5000.0], poll_interval_s=5.0)

    assert met.met
    assert met.to_pass() == ""
    assert not missed.met
    # The slowest 1% is the two 2,000 ms changes, split 70/10/20.
    assert missed.slowest() == pytest.approx((1400.0, 200.0, 400.0))
    assert missed.to_pass() == (
        "500 ms off the p99; the slowest 1% spent on average 1,400 ms waiting for a poll, "
        "200 ms in the poller, 400 ms in the worker"
    )
    assert slow_poll.met


def test_a_stretch_percentile_leaves_out_changes_without_their_raw_record() -> None:
    figures = figures_of([100.0, 200.0])
    figures = EndToEndFigures(
        poll_interval_s=1.0, districts=1, window_s=1.0, events=3, published=3, changed=3,
        timed=(*figures.timed, Timed(300.0, math.nan, math.nan, math.nan)),
    )  # fmt: skip

    assert figures.stage_p("wait", 100) == pytest.approx(140.0)
    assert figures.stage_p("worker", 50) == pytest.approx(20.0)


def test_the_goals_rows_and_the_table_show_each_poll_interval() -> None:
    rows = (figures_of([800.0] * 100), figures_of([900.0] * 98 + [6000.0] * 2, poll_interval_s=5))
    goals = end_to_end_goal_rows(rows)
    console = Console(width=300, record=True)
    console.print(end_to_end_table(rows))
    text = console.export_text()

    assert goals[0][0].endswith("end to end from Clever's feed, at a 1 s poll interval")
    assert goals[1][0].endswith("at a 5 s poll interval")
    assert [goal[2] for goal in goals] == ["met", "missed"]
    assert goals[1][3].startswith("500 ms off the p99")
    assert goals[0][1].startswith("800 ms against 1,500 ms")
    assert "100 changes of 100 events" in goals[0][1]
    assert "5,500" in text
    assert "6,000" in text


def test_without_a_poll_interval_the_goal_says_it_was_not_measured() -> None:
    [(goal, figure, verdict, to_pass)] = end_to_end_goal_rows(())

    assert goal == "p99 <= poll interval + 0.5 s end to end from Clever's feed"
    assert (figure, verdict) == ("not measured by this run", "not measured")
    assert "--end-to-end-poll-intervals" in to_pass


def test_the_trickle_paces_the_rate_and_the_window_spans_ten_polls() -> None:
    config = EndToEndConfig(events=600, rate=20.0, districts=5, batch=2)

    assert config.trickle_interval_s == pytest.approx(0.5)  # 5 districts x 2 events / 0.5 s
    assert config.window_s(1.0) == 30.0  # 600 events at 20/s
    assert config.window_s(5.0) == 50.0  # ten 5 s polls
