"""The chaos run's report: its seed first, so a failure can be run again, then the plan as
it happened, the checker's figures and each recovery's time."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.table import Table

from tests.chaos.checker import describe
from tests.chaos.run import ChaosReport


def print_report(console: Console, report: ChaosReport) -> None:
    """Print the whole report."""
    config = report.config
    console.print(
        f"chaos run, seed {config.seed}: {config.events:,} events, {config.districts} "
        f"districts, engine {config.engine}, {report.seconds:.0f}s",
        highlight=False,
    )
    for line in report.timeline:
        console.print(f"  {line}", highlight=False)
    verdict = Table(title="Checked from outside (confluent-kafka, fastavro, the model)")
    verdict.add_column("figure")
    verdict.add_column("value", justify="right")
    for name, value in describe(report.verdict).items():
        verdict.add_row(name, str(value))
    console.print(verdict)
    recoveries = Table(title="Recovery: from the fault until the outputs caught up (s)")
    for column in ("after", "times", "median", "max"):
        recoveries.add_column(column, justify="left" if column == "after" else "right")
    for kind, seconds in recovery_times(report).items():
        recoveries.add_row(
            kind, str(len(seconds)), f"{statistics.median(seconds):.1f}", f"{max(seconds):.1f}"
        )
    console.print(recoveries)
    for example in report.verdict.examples[:5]:
        console.print(example, highlight=False, markup=False)
    failures = report.failures()
    if failures:
        console.print(f"[red]FAILED[/red]: {'; '.join(failures)}", highlight=False)
    else:
        console.print("[green]passed[/green]: nothing lost, duplicated or out of order")
    console.print(f"rerun with: make chaos SEED={config.seed}", highlight=False)


def recovery_times(report: ChaosReport) -> dict[str, list[float]]:
    """Each kind of fault's catch-up times, in seconds: kills by what was killed, Clever's
    faults by kind, and the probes (nothing broken)."""
    found: dict[str, list[float]] = {}
    timed = [a for a in report.plan if a.fault is None or report.config.time_faults]
    for action, recovery in zip(timed, report.action_recoveries, strict=True):
        if recovery.seconds is None:
            continue
        if action.kills:
            kind = "kill " + " + ".join(action.kills)
        elif action.fault is not None:
            kind = f"Clever {action.fault.replace('_', ' ')}"
        else:
            kind = "nothing broken (probe)"
        found.setdefault(kind, []).append(recovery.seconds)
    return dict(sorted(found.items()))
