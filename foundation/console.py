"""What our command-line tools share: --verbose and --log-format, and errors without a
traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from pythonjsonlogger.json import JsonFormatter
from rich.console import Console
from rich.markup import escape

from foundation.exceptions import CleverStreamError


class LogFormat(StrEnum):
    """How log records are written to stderr."""

    #: One line per record: time, level, logger, message.
    TEXT = "text"
    #: One JSON object per line: time, level, logger, message (and an exception's text).
    JSON = "json"


@dataclass(frozen=True, kw_only=True)
class LogOptions:
    """The logging a command was asked for."""

    verbose: bool = False
    format: LogFormat = LogFormat.TEXT
    #: Everything, the libraries' debug lines included.
    debug: bool = False


VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Log everything, the libraries' debug lines included.")
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        case_sensitive=False,
        help="text: a line per record; json: a JSON object per line.",
    ),
]
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


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Libraries' loggers whose debug lines print whole records (``tests/e2e/
#: test_no_personal_data_logged.py`` finds them).
_RECORD_VALUES_AT_DEBUG = ("aiokafka.producer.producer",)


def configure_logging(
    *, verbose: bool, log_format: LogFormat = LogFormat.TEXT, debug: bool = False
) -> None:
    """Log to stderr: progress with ``--verbose``, everything with ``debug``, otherwise
    warnings and errors only, as ``log_format`` says; the Kafka client's repeated warnings and
    errors once a minute each, with their count. The first call of a process decides.

    httpx's line per request goes to debug: the poller says what it published instead."""
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[handler])
    if not debug:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in _RECORD_VALUES_AT_DEBUG:
        # Even with --debug: these lines hold each record's value, a contact's personal data.
        logging.getLogger(name).setLevel(logging.INFO)
    for installed in logging.getLogger().handlers:
        if not any(isinstance(found, RepeatedLines) for found in installed.filters):
            installed.addFilter(RepeatedLines())


def log_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of ``log_format``."""
    if log_format == LogFormat.JSON:
        # ``timestamp``: the record's time in ISO 8601, UTC, under that key.
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    return logging.Formatter(_TEXT_FORMAT)


class RepeatedLines(logging.Filter):
    """Lets one record of a kind (logger and message template) through per ``window_s``,
    and says how many of that kind it held back since.

    A broker that is down makes aiokafka log the same connection error on every retry, a
    thousand lines a minute; once a minute with a count says the same.
    """

    def __init__(self, *, prefixes: tuple[str, ...] = ("aiokafka",), window_s: float = 60.0):
        super().__init__()
        self._prefixes = prefixes
        self._window_s = window_s
        #: Kind -> (when one was last let through, how many held back since).
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self._prefixes):
            return True
        kind = (record.name, record.msg)
        now = record.created
        last = self._seen.get(kind)
        if last is not None and now - last[0] < self._window_s:
            self._seen[kind] = (last[0], last[1] + 1)
            return False
        held = 0 if last is None else last[1]
        self._seen[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [and {held} more like it in the last {self._window_s:g} s]"
        return True
