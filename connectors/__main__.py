"""``python -m connectors``: run the poller (wiring only; the work is in connectors.service)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from connectors.service import load_settings, serve
from foundation.console import (
    LogFormat,
    LogFormatOption,
    VerboseOption,
    configure_logging,
    reporting_errors,
)
from foundation.signals import run_until_signalled

app = typer.Typer(
    help="The Clever poller: every configured district's events into Kafka, exactly once.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def configure(verbose: VerboseOption = False, log_format: LogFormatOption = LogFormat.TEXT) -> None:
    """Settings come from the environment (CLEVER_POLLER_*, KAFKA_BOOTSTRAP_SERVERS)."""
    configure_logging(verbose=verbose, log_format=log_format)


@app.command()
def run() -> None:
    """Poll every district until SIGTERM or Ctrl-C; SIGUSR1 resyncs them all."""
    with reporting_errors(console):
        settings = load_settings()
        asyncio.run(run_until_signalled(serve(settings)))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
