"""The report page: rich tables as Markdown, the machine, pictures beside the page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from bench.report import (
    Machine,
    Report,
    cpu_model,
    markdown_table,
    memory_gib,
    picture_path,
    render,
)

MACHINE = Machine(
    cpu="AMD EPYC 7B13",
    cores=2,
    ram_gib=23.4,
    system="Linux-6",
    python="3.11.7",
    kafka="4.1.1",
    packages=(("aiokafka", "0.14.0"),),
    load=1.5,
)


def table() -> Table:
    found = Table(title="Throughput | now", caption="median of 3")
    found.add_column("group")
    found.add_column("events/s", justify="right")
    found.add_row("worker", "9,589")
    found.add_row("Quix", "1,234")
    return found


def test_a_table_keeps_its_title_columns_rows_alignment_and_caption() -> None:
    assert markdown_table(table()).splitlines() == [
        "### Throughput | now",
        "",
        "| group | events/s |",
        "| --- | ---: |",
        "| worker | 9,589 |",
        "| Quix | 1,234 |",
        "",
        "*median of 3*",
    ]


def test_the_machine_is_read_from_proc() -> None:
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\n"

    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"
    assert cpu_model("") is None
    assert memory_gib("MemTotal:       24576000 kB\nMemFree: 1 kB\n") == 24576000 / 2**20


def test_the_page_names_the_machine_command_and_date_then_every_part() -> None:
    page = Path("/repo/docs/performance.md")
    report = Report()
    report.add(table())
    report.add(picture_path(page, "throughput"))
    report.add("A note.")

    text = render(
        report,
        machine=MACHINE,
        command="python -m bench --only peers",
        when=datetime(2026, 12, 6, 7, 30, tzinfo=UTC),
        page=page,
    )

    assert "Measured 2026-12-06 07:30 UTC with `python -m bench --only peers`" in text
    assert "| CPU | AMD EPYC 7B13 |" in text
    assert "| cores | 2 |" in text
    assert "| Kafka | 4.1.1 |" in text
    assert "| aiokafka | 0.14.0 |" in text
    assert "### Throughput \\| now" not in text  # a title is a heading, not a cell
    assert "### Throughput | now" in text
    assert "![performance-throughput](performance-throughput.png)" in text
    assert text.index("| worker | 9,589 |") < text.index("performance-throughput.png")
    assert text.rstrip().endswith("A note.")
