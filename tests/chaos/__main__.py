"""``python -m tests.chaos``: a seeded chaos run on a fresh local 3-node cluster."""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from foundation.console import reporting_errors
from localkafka import LocalKafkaSettings
from localkafka.cluster import LocalKafkaCluster
from tests.chaos.pipeline import ChaosError
from tests.chaos.report import print_report
from tests.chaos.run import ChaosConfig, run_chaos

console = Console()


def main(
    seed: Annotated[
        int | None, typer.Option(help="The run's seed; a random one (printed) if not given.")
    ] = None,
    events: Annotated[int, typer.Option(min=100, help="Clever events to make.")] = 100_000,
    districts: Annotated[int, typer.Option(min=2, help="Fake districts.")] = 20,
    contacts: Annotated[int, typer.Option(min=10, help="Contacts of each district.")] = 300,
    rate: Annotated[float, typer.Option(min=1, help="Clever events a second.")] = 250.0,
    kills: Annotated[int, typer.Option(min=0, help="Kills (every kind at least once).")] = 10,
    faults: Annotated[int, typer.Option(min=0, help="Clever faults (each at least once).")] = 12,
    engine: Annotated[str, typer.Option(help="native or faust.")] = "native",
    folder: Annotated[
        Path | None, typer.Option(help="Where the processes' logs go; a temporary folder if not.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the pipeline on a local 3-node cluster under seeded kills and Clever faults, and
    check its outputs from outside. Exit 1 if anything was lost, doubled or out of order."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("tests.chaos").setLevel(logging.INFO)
    seed = secrets.randbelow(1_000_000) if seed is None else seed
    console.print(f"chaos seed {seed}", highlight=False)
    with tempfile.TemporaryDirectory(prefix="clever-stream-chaos-") as temporary:
        where = folder or Path(temporary)
        config = ChaosConfig(
            seed=seed, folder=where / "logs", events=events, districts=districts,
            contacts=contacts, rate=rate, kills=kills, faults=faults, engine=engine,
        )  # fmt: skip
        cluster = LocalKafkaCluster(LocalKafkaSettings(state_dir=where / "cluster", nodes=3))
        with reporting_errors(console):
            running = cluster.start(fresh=True)
        try:
            report = asyncio.run(run_chaos(config, cluster, running))
        except ChaosError as error:
            console.print(f"[red]error:[/red] {error}", highlight=False)
            console.print(f"rerun with: make chaos SEED={seed}", highlight=False)
            raise typer.Exit(1) from error
        finally:
            cluster.stop()
    print_report(console, report)
    if report.failures():
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
