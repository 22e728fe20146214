"""``local-kafka``: resolve, start, stop and inspect the project's local broker."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from foundation.console import (
    LogFormat,
    LogFormatOption,
    VerboseOption,
    configure_logging,
    reporting_errors,
)
from foundation.settings import read_settings
from localkafka.broker import LocalKafka, RunningBroker
from localkafka.maven import cached_jars, resolve_kafka
from localkafka.settings import LocalKafkaSettings

app = typer.Typer(
    help="A single-node Apache Kafka (KRaft) on 127.0.0.1, from Maven Central, without Docker.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
# Exit code of `status` when no broker serves, as an LSB init script's status does.
NOT_RUNNING = 3


class Security(StrEnum):
    """The broker's listeners: plaintext, or SASL_SSL and mutual TLS only."""

    PLAINTEXT = "plaintext"
    SASL_SSL = "sasl_ssl"


SecurityOption = Annotated[
    Security | None,
    typer.Option(
        help="plaintext, or sasl_ssl: SASL_SSL and mutual-TLS listeners with a throwaway CA "
        "and SASL user, in their own state folder [default: LOCAL_KAFKA_SECURITY, else "
        "plaintext].",
        case_sensitive=False,
    ),
]


@app.callback()
def configure(verbose: VerboseOption = False, log_format: LogFormatOption = LogFormat.TEXT) -> None:
    """Settings come from LOCAL_KAFKA_* variables (see .env.example)."""
    configure_logging(verbose=verbose, log_format=log_format)


@app.command()
def resolve() -> None:
    """Resolve Kafka's jars from Maven Central into the cache (reused when already there)."""
    settings = _settings()
    cached = cached_jars(settings) is not None
    started = time.monotonic()
    if not cached:
        console.print(
            f"Resolving Kafka {settings.kafka_version}'s jars from Maven Central with Maven "
            "(the first time only: about a minute)...",
            highlight=False,
            soft_wrap=True,
        )
    with reporting_errors(console):
        jars = resolve_kafka(settings)
    how = "already in the cache" if cached else f"resolved in {time.monotonic() - started:.1f}s"
    console.print(
        f"Kafka {jars.version} jars in [bold]{jars.libs_dir}[/bold] ({how})", soft_wrap=True
    )


@app.command()
def start(
    fresh: Annotated[bool, typer.Option(help="Delete earlier topics and data first.")] = False,
    security: SecurityOption = None,
) -> None:
    """Start a broker that keeps running after this command (stop it with `stop`)."""
    settings = _settings(security)
    with reporting_errors(console):
        broker = LocalKafka(settings).start(detached=True, fresh=fresh)
    verb = "Started" if broker.started_here else "Already running:"
    console.print(f"{verb} Kafka {broker.kafka_version} pid {broker.pid}")
    _describe(broker)


@app.command()
def stop(security: SecurityOption = None) -> None:
    """Stop the broker (SIGTERM, then SIGKILL after LOCAL_KAFKA_STOP_TIMEOUT_S)."""
    settings = _settings(security)
    with reporting_errors(console):
        stopped = LocalKafka(settings).stop()
    console.print("Stopped." if stopped else "No broker was running.")


@app.command()
def status(security: SecurityOption = None) -> None:
    """Say whether the broker serves; exit 0 if it does, 3 if not."""
    settings = _settings(security)
    state = LocalKafka(settings).status()
    console.print(("Running: " if state.running else "Not running: ") + state.detail)
    if state.broker is not None:
        _describe(state.broker)
    if not state.running:
        raise typer.Exit(NOT_RUNNING)


def _describe(broker: RunningBroker) -> None:
    print_ = console.print
    secure = broker.security
    if secure is None:
        print_(f"  bootstrap servers  {broker.bootstrap_servers}", soft_wrap=True)
    else:
        files = secure.files
        print_(
            f"  bootstrap servers  {broker.bootstrap_servers} (SASL_SSL: PLAIN, SCRAM-SHA-256, "
            f"SCRAM-SHA-512 as {secure.username})",
            soft_wrap=True,
        )
        print_(
            f"  mutual TLS         {secure.tls_bootstrap_servers} (SSL, with "
            f"{files.client_certificate} and {files.client_key})",
            soft_wrap=True,
        )
        print_(f"  CA certificate     {files.ca_certificate}", soft_wrap=True)
        print_(f"  SASL password in   {files.password_file}", soft_wrap=True)
    print_(f"  log file           {broker.log_file}", soft_wrap=True)
    print_(f"  data folder        {broker.data_dir}", soft_wrap=True)
    if secure is None:
        print_(
            f"  use it with        export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}",
            soft_wrap=True,
        )
    else:
        print_(f"  use it with        set -a; . {secure.files.client_env}; set +a", soft_wrap=True)


def main() -> None:
    """Entry point of the ``local-kafka`` command."""
    app()


def _settings(security: Security | None = None) -> LocalKafkaSettings:
    """The broker's settings, ``security`` over LOCAL_KAFKA_SECURITY; a mistake in them is
    one line, no traceback."""
    with reporting_errors(console):
        settings = read_settings(LocalKafkaSettings, what="the local broker")
    if security is None:
        return settings
    return settings.model_copy(update={"security": security.value})
