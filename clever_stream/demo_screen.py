"""What the demo shows once the pipeline runs: a header that stays, and a tail of changes.

On a terminal the demo draws this with rich's ``Live``: where everything is and the query
URLs, a row of counters per district (records synced, events per second, grants, revokes and
changes, the workers' lag), the newest privilege changes in plain words below, and the legend.
Piped to a file, the same tail is printed line by line instead, so a log of the demo reads
top to bottom.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from schemas.records import Privilege, PrivilegeChange
from schemas.values import CauseKind, ChangeKind, RawRecordKind

#: The window events per second are measured over.
RATE_WINDOW_S = 10.0
#: The changes kept for the tail; as many of the newest as the terminal has room for show.
_KEPT = 500

#: What the tail's lines say.
LEGEND = (
    "Each line is one privilege change a downstream service receives: [green]GRANTED[/green] "
    "(the contact may now see the student's records), [red]REVOKED[/red] (no longer), "
    "[yellow]CHANGED[/yellow] (the capacity changed: before -> after); the capacity is "
    "Clever's relationship / contact type, and the cause the Clever event or sync behind it. "
    "Newest last; the counters above count everything since the demo began."
)


@dataclass
class DistrictCounters:
    """What has flowed for one district since the demo began."""

    synced: int = 0
    events: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    #: When recent events reached the raw topic (monotonic seconds), for events per second.
    recent: deque[float] = field(default_factory=deque)

    def event(self, now: float) -> None:
        self.events += 1
        self.recent.append(now)

    def rate(self, now: float) -> float:
        while self.recent and self.recent[0] < now - RATE_WINDOW_S:
            self.recent.popleft()
        return len(self.recent) / RATE_WINDOW_S


class DemoScreen:
    """The state the demo's screen shows, and the screen itself (a rich renderable)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        #: (name, value) rows of the header: where everything is.
        self.where: list[tuple[str, str]] = []
        self._clock = clock
        self.districts: dict[str, DistrictCounters] = {}
        self.tail: deque[str] = deque(maxlen=_KEPT)
        #: The raw records the worker group has not committed yet; None until first read.
        self.lag: int | None = None

    def counters(self, district_id: str) -> DistrictCounters:
        return self.districts.setdefault(district_id, DistrictCounters())

    def raw_record(self, district_id: str, kind: RawRecordKind) -> None:
        """A raw record reached Kafka: a snapshot record counts as synced, an event as one."""
        counters = self.counters(district_id)
        if kind == RawRecordKind.SNAPSHOT:
            counters.synced += 1
        elif kind == RawRecordKind.EVENT:
            counters.event(self._clock())

    def change(self, change: PrivilegeChange) -> str:
        """A privilege change reached the changes topic: counted, added to the tail; its line."""
        self.counters(change.district_id).changes[str(change.kind)] += 1
        line = describe(change)
        self.tail.append(line)
        return line

    def totals(self) -> Counter[str]:
        """The changes shown so far, by kind, over every district."""
        found: Counter[str] = Counter()
        for counters in self.districts.values():
            found.update(counters.changes)
        return found

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The header, the counters, as many of the newest changes as the terminal has room
        for (a line each, cut at its width), and the legend: never taller than the terminal,
        so nothing scrolls away."""
        where = Table.grid(padding=(0, 2))
        where.add_column(style="bold")
        where.add_column()
        for name, value in self.where:
            where.add_row(name, value)
        header = Panel(where, title="clever-stream demo: Ctrl-C stops it", title_align="left")
        # A row per district, as many as a fifth of the terminal holds: the rest is counted.
        counters = self._counters_table(max(console.height // 5, 1))
        legend = Text.from_markup(LEGEND)
        used = sum(
            len(console.render_lines(part, options, pad=False))
            for part in (header, counters, legend)
        )
        # The tail panel's two borders, and a line spare for the cursor.
        room = max(console.height - used - 3, 1)
        lines = [_one_line(line) for line in list(self.tail)[-room:]]
        tail = Group(*lines) if lines else Text("(none yet)")
        yield header
        yield counters
        yield Panel(tail, title="Privilege changes, newest last", title_align="left")
        yield legend

    def _counters_table(self, rows: int) -> Table:
        table = Table(title_justify="left", expand=False)
        for heading in ("district", "synced", "events", "events/s", "granted", "revoked"):
            table.add_column(heading, justify="left" if heading == "district" else "right")
        table.add_column("changed", justify="right")
        table.add_column("raw lag", justify="right")
        now = self._clock()
        lag = "-" if self.lag is None else f"{self.lag:,}"
        shown = sorted(self.districts.items())
        for district_id, counters in shown[:rows]:
            changes = counters.changes
            table.add_row(
                escape(district_id),
                f"{counters.synced:,}",
                f"{counters.events:,}",
                f"{counters.rate(now):.1f}",
                f"{changes['GRANTED']:,}",
                f"{changes['REVOKED']:,}",
                f"{changes['CHANGED']:,}",
                lag,
            )
        if len(shown) > rows:
            table.add_row(f"and {len(shown) - rows} more districts", *([""] * 7))
        return table


def _one_line(markup: str) -> Text:
    """``markup`` kept to one line, cut at the terminal's width."""
    text = Text.from_markup(markup, overflow="ellipsis")
    text.no_wrap = True
    return text


def _capacity(privilege: Privilege | None) -> str:
    if privilege is None:
        return "-"
    return _plain(f"{privilege.relationship_raw or '-'} / {privilege.contact_type_raw or '-'}")


def _plain(text: str) -> str:
    """Clever's text as it shows on one line: no markup of its own, no line breaks."""
    return escape(" ".join(text.split()))


def describe(change: PrivilegeChange) -> str:
    """One line per change, in plain words (rich markup): IDs, capacities and cause, never a
    name, phone or email."""
    cause = change.cause
    why = (
        f"event {cause.clever_event_id} ({cause.clever_event_type})"
        if cause.kind == CauseKind.CLEVER_EVENT
        else f"{cause.kind.lower().replace('_', ' ')} {cause.sync_id}"
    )
    reissued = (
        f", reissued from contact {change.reissued_from_contact_id}"
        if change.reissued_from_contact_id
        else ""
    )
    who = f"contact {_plain(change.contact_id)}"
    student = f"student {_plain(change.student_id)}"
    if change.kind == ChangeKind.GRANTED:
        what = f"[green]GRANTED[/green]  {who} may now see {student}: {_capacity(change.after)}"
    elif change.kind == ChangeKind.REVOKED:
        what = (
            f"[red]REVOKED[/red]  {who} may no longer see {student} "
            f"(was {_capacity(change.before)})"
        )
    else:
        what = (
            f"[yellow]CHANGED[/yellow]  {who} sees {student}: {_capacity(change.before)} -> "
            f"{_capacity(change.after)}"
        )
    return f"{what}{_plain(reissued)}, because of {_plain(why)}"
