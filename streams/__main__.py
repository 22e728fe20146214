"""``python -m streams worker``: run a privilege worker (wiring only)."""

from __future__ import annotations

import typer
from rich.console import Console

from foundation.console import (
    LogFormat,
    LogFormatOption,
    LogOptions,
    VerboseOption,
    reporting_errors,
)
from foundation.settings import read_settings
from streams.service import run_worker
from streams.settings import WorkerSettings

app = typer.Typer(
    help="The privilege workers: raw Clever records to privilege changes, exactly once.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.command()
def worker(verbose: VerboseOption = False, log_format: LogFormatOption = LogFormat.TEXT) -> None:
    """Run one worker of the group (CLEVER_WORKER_*); start more to share the districts."""
    with reporting_errors(console):
        log = LogOptions(verbose=verbose, format=log_format)
        run_worker(read_settings(WorkerSettings, what="the worker"), log=log)


@app.command()
def version() -> None:
    """Print the package version."""
    from importlib.metadata import version as package_version

    console.print(package_version("clever-stream"))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
