"""What our command-line tools share: a --verbose option and errors without a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from foundation.exceptions import CleverStreamError

VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")]
# Exit code for an error we raised on purpose (1 stays for crashes, 2 is click's usage error).
PROJECT_ERROR = 4


@contextmanager
def reporting_errors(console: Console) -> Iterator[None]:
    """Print a :class:`CleverStreamError` and its hint, and exit with :data:`PROJECT_ERROR`."""
    try:
        yield
    except CleverStreamError as error:
        # soft_wrap: an error is one line and its hint another, at any terminal width.
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(PROJECT_ERROR) from error


def configure_logging(*, verbose: bool) -> None:
    """Log to stderr: progress with ``--verbose``, otherwise warnings and errors only."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
