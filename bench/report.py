"""``--report PATH``: the run's tables as a Markdown page, with the machine, the command, the
date and the pictures (``docs/performance.md`` is written by ``make bench``).

Every table the run prints goes into the page as it was printed (``markdown_table`` reads a
rich ``Table``'s title, columns, cells and caption), so the page and the terminal never
disagree; pictures are written beside the page, named after it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rich.table import Table

_PACKAGES = ("aiokafka", "faust-streaming", "confluent-kafka", "fastavro", "rocksdict")


@dataclass(frozen=True, kw_only=True)
class Machine:
    """What the figures were measured on."""

    cpu: str
    cores: int
    ram_gib: float
    system: str
    python: str
    kafka: str
    packages: tuple[tuple[str, str], ...] = ()
    #: The load average (1 minute) when the run began: other work on the machine.
    load: float | None = None

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) lines for the page."""
        found = [
            ("CPU", self.cpu),
            ("cores", str(self.cores)),
            ("RAM", f"{self.ram_gib:.1f} GiB"),
            ("system", self.system),
            ("Python", self.python),
            ("Kafka", self.kafka),
        ]
        found += [(name, found_version) for name, found_version in self.packages]
        if self.load is not None:
            found.append(("load average at the start (1 min)", f"{self.load:.2f}"))
        return found


@dataclass(kw_only=True)
class Report:
    """What a run showed, in order: tables, notes and pictures."""

    parts: list[Table | str | Path] = field(default_factory=list)

    def add(self, part: Table | str | Path) -> None:
        """A table, a paragraph of Markdown, or a picture (a path beside the page)."""
        self.parts.append(part)


def probe_machine(*, kafka: str, quix_python: Path | None = None) -> Machine:
    """This machine, from ``/proc`` where there is one, and the packages' versions."""
    packages = [(name, _version(name)) for name in _PACKAGES]
    if quix_python is not None and quix_python.exists():
        packages.append(("quixstreams (.venv-quix)", _quix_version(quix_python)))
    try:
        load: float | None = os.getloadavg()[0]
    except OSError:
        load = None
    return Machine(
        cpu=cpu_model(_read("/proc/cpuinfo")) or platform.processor() or "unknown",
        cores=os.cpu_count() or 0,
        ram_gib=memory_gib(_read("/proc/meminfo")),
        system=platform.platform(),
        python=platform.python_version(),
        kafka=kafka,
        packages=tuple(packages),
        load=load,
    )


def cpu_model(cpuinfo: str) -> str | None:
    """The first ``model name`` of ``/proc/cpuinfo``."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return None


def memory_gib(meminfo: str) -> float:
    """``MemTotal`` of ``/proc/meminfo`` in GiB (0 if absent)."""
    for line in meminfo.splitlines():
        name, _, value = line.partition(":")
        if name == "MemTotal":
            return int(value.split()[0]) / 2**20
    return 0.0


def markdown_table(table: Table) -> str:
    """``table`` as Markdown: its title as a heading line, its rows, its caption below."""
    headers = [_text(column.header) for column in table.columns]
    cells = [[_text(cell) for cell in column.cells] for column in table.columns]
    rows = list(zip(*cells, strict=True)) if cells else []
    align = ["---:" if column.justify == "right" else "---" for column in table.columns]
    lines = []
    if table.title:
        lines += [f"### {_text(table.title)}", ""]
    lines.append(_row(headers))
    lines.append(_row(align))
    lines += [_row(list(row)) for row in rows]
    if table.caption:
        lines += ["", f"*{_text(table.caption)}*"]
    return "\n".join(lines)


def render(
    report: Report,
    *,
    machine: Machine,
    command: str,
    when: datetime,
    page: Path,
) -> str:
    """The whole page; pictures are linked relative to ``page``."""
    lines = [
        "# Performance",
        "",
        "<!-- Written by `python -m bench --report`; run `make bench` to measure again. "
        "Do not edit by hand. -->",
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC with `{command}`. Read the ratios and the CPU "
        "per record before the rates: the rates describe this machine, which also runs the "
        "broker, as much as the code. [benchmarks.md](benchmarks.md) says how each figure is "
        "measured.",
        "",
        "## Machine",
        "",
        _row(["", ""]),
        _row(["---", "---"]),
    ]
    lines += [_row([name, value]) for name, value in machine.rows()]
    for part in report.parts:
        lines.append("")
        if isinstance(part, Table):
            lines.append(markdown_table(part))
        elif isinstance(part, Path):
            relative = os.path.relpath(part, page.parent)
            lines.append(f"![{part.stem}]({relative})")
        else:
            lines.append(part)
    return "\n".join(lines) + "\n"


def picture_path(page: Path, name: str) -> Path:
    """Where the page's picture ``name`` goes: beside it, ``<page stem>-<name>.png``."""
    return page.with_name(f"{page.stem}-{name}.png")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _text(renderable: object) -> str:
    return " ".join(str(renderable).split())


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _quix_version(python: Path) -> str:
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [str(python), "-c", "from importlib.metadata import version; "
             "print(version('quixstreams'))"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip()
