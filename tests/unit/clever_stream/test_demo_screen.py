"""The demo's live screen: plain words per change, counters per district, and never taller
than the terminal, so its header never scrolls away."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from clever_stream.demo_screen import RATE_WINDOW_S, DemoScreen, describe
from schemas.records import Cause, Privilege, PrivilegeChange
from schemas.values import CauseKind, ChangeKind, ContactType, RawRecordKind, Relationship
from tests.strategies import MESSAGES

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PARENT = Privilege(
    relationship=Relationship.PARENT,
    relationship_raw="Parent",
    contact_type=ContactType.PARENT_GUARDIAN,
    contact_type_raw="Parent/Guardian",
)
GRANDPARENT = Privilege(
    relationship=Relationship.GRANDPARENT,
    relationship_raw="Grandparent",
    contact_type=ContactType.EMERGENCY,
    contact_type_raw="Emergency",
)


def change(kind: ChangeKind, before: Privilege | None, after: Privilege | None) -> PrivilegeChange:
    return PrivilegeChange(
        change_id="c1",
        kind=kind,
        district_id="d1",
        contact_id="c-1",
        student_id="s-1",
        before=before,
        after=after,
        cause=Cause(
            kind=CauseKind.CLEVER_EVENT, clever_event_id="e-1", clever_event_type="users.updated"
        ),
        emitted_at=NOW,
    )


def test_each_kind_reads_as_plain_words_with_before_and_after() -> None:
    assert describe(change(ChangeKind.GRANTED, None, PARENT)) == (
        "[green]GRANTED[/green]  contact c-1 may now see student s-1: Parent / Parent/Guardian, "
        "because of event e-1 (users.updated)"
    )
    assert "may no longer see student s-1 (was Parent / Parent/Guardian)" in describe(
        change(ChangeKind.REVOKED, PARENT, None)
    )
    assert "sees student s-1: Parent / Parent/Guardian -> Grandparent / Emergency" in describe(
        change(ChangeKind.CHANGED, PARENT, GRANDPARENT)
    )


def test_counters_count_by_district_and_rate_over_the_window() -> None:
    clock = [100.0]
    screen = DemoScreen(clock=lambda: clock[0])
    screen.raw_record("d1", RawRecordKind.SNAPSHOT)
    screen.raw_record("d1", RawRecordKind.SYNC_STARTED)
    for _ in range(5):
        screen.raw_record("d1", RawRecordKind.EVENT)
    screen.change(change(ChangeKind.GRANTED, None, PARENT))
    screen.change(change(ChangeKind.REVOKED, PARENT, None))

    counters = screen.districts["d1"]
    assert (counters.synced, counters.events) == (1, 5)
    assert counters.rate(clock[0]) == 5 / RATE_WINDOW_S
    assert counters.rate(clock[0] + RATE_WINDOW_S + 1) == 0
    assert screen.totals() == {"GRANTED": 1, "REVOKED": 1}
    assert len(screen.tail) == 2


@given(
    changes=st.lists(MESSAGES[PrivilegeChange], max_size=60),
    districts=st.integers(min_value=1, max_value=4),
    width=st.sampled_from([80, 120, 200]),
    height=st.integers(min_value=30, max_value=60),
)
def test_the_screen_never_grows_taller_than_the_terminal(
    changes: list[PrivilegeChange], districts: int, width: int, height: int
) -> None:
    screen = DemoScreen()
    screen.where = [("Kafka", "127.0.0.1:9092"), ("ask the worker", "http://x/" + "y" * 90)]
    for n in range(districts):
        screen.raw_record(f"district-{n}", RawRecordKind.SNAPSHOT)
    for found in changes:
        screen.change(found)
    console = Console(width=width, height=height, record=True, force_terminal=True)

    console.print(screen)

    assert len(console.export_text().splitlines()) <= height


def test_clever_text_shows_as_itself_on_one_line() -> None:
    odd = replace(change(ChangeKind.GRANTED, None, PARENT), contact_id="[red]c[/red]\nnext")

    shown = Text.from_markup(describe(odd)).plain

    assert "contact [red]c[/red] next may now see" in shown
