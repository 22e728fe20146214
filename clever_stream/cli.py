"""``clever-stream``: the demo, topic creation, a replay into fresh outputs and a cluster
self-check."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, cast, get_args

import typer
from rich.console import Console

from clever_stream.dead_letters import Letter, chosen, read_letters, replay_letters
from clever_stream.demo import run_demo
from clever_stream.districts import (
    list_districts,
    listing_lines,
    read_token,
    register_district,
    remove_district,
)
from clever_stream.partitions import grow_partitions, growth_lines
from clever_stream.replay import replay as run_replay
from clever_stream.replay import replay_settings
from clever_stream.resync import request_resyncs
from clever_stream.selfcheck import RoundTrip, transactional_round_trip
from clever_stream.settings import CliSettings
from clever_stream.status import read_status, status_lines
from clever_stream.topics import definition_lines, describe_topics
from connectors.district_tokens import fingerprint, new_key
from connectors.service import load_settings as load_poller_settings
from connectors.service import serve as serve_poller
from connectors.settings import ApiVersion, PollerSettings, districts_from_file
from fakeclever.cli import serve as fake_clever_serve
from foundation.clock import utc_now
from foundation.connection import KafkaConnection
from foundation.console import (
    DebugOption,
    LogFormat,
    LogFormatOption,
    LogOptions,
    VerboseOption,
    configure_logging,
    reporting_errors,
)
from foundation.exceptions import ConfigurationError
from foundation.settings import read_settings
from foundation.signals import run_until_signalled
from localkafka import LocalKafkaSettings
from localkafka.cli import resolve as kafka_resolve
from localkafka.cli import start as kafka_start
from localkafka.cli import status as kafka_status
from localkafka.cli import stop as kafka_stop
from schemas.codec import default_codec
from schemas.provision import ensure_pipeline_topics
from schemas.topics import ALL_TOPICS, POLLER_CURSORS, POLLER_DISTRICTS, RAW_EVENTS, SELFCHECK
from streams.service import run_worker
from streams.settings import WorkerSettings

app = typer.Typer(
    help="Clever guardian-to-student privilege changes as an ordered, replayable Kafka stream.",
    no_args_is_help=True,
    add_completion=False,
)
topics_app = typer.Typer(help="The pipeline's topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
kafka_app = typer.Typer(
    help="A local Kafka broker from Maven Central (LOCAL_KAFKA_*).", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")
console = Console()
#: Errors go to stderr, apart from a command's output.
errors = Console(stderr=True)


def _version(shown: bool) -> None:
    if shown:
        console.print(f"clever-stream {package_version('clever-stream')}")
        raise typer.Exit


@app.callback()
def configure(
    ctx: typer.Context,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    log_format: LogFormatOption = LogFormat.TEXT,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Settings come from the environment (see .env.example); -v logs progress."""
    configure_logging(verbose=verbose, log_format=log_format, debug=debug)
    if ctx.invoked_subcommand not in _SERVICES and not (verbose or debug):
        # A command that runs and ends reports its own failure in one line; the Kafka
        # client's errors on the way (a leader moving, retried) are noise on its screen.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # The worker configures its engine's logging with it.
    ctx.obj = LogOptions(verbose=verbose, format=log_format, debug=debug)


#: The commands that run until stopped: the Kafka client's errors are theirs to show.
_SERVICES = frozenset({"poll", "worker", "demo", "fake-clever", "kafka"})


# The deployables and tools, one command each; `python -m connectors run`, `python -m streams
# worker`, `local-kafka` and `fake-clever` stay as aliases of these.
app.command("fake-clever", help="Serve a fake Clever API with generated districts.")(
    fake_clever_serve
)
kafka_app.command("start")(kafka_start)
kafka_app.command("stop")(kafka_stop)
kafka_app.command("status")(kafka_status)
kafka_app.command("resolve")(kafka_resolve)


@app.command()
def poll() -> None:
    """Run the poller (CLEVER_POLLER_*) until SIGTERM or Ctrl-C; SIGUSR1 resyncs every district."""
    with reporting_errors(errors):
        settings = load_poller_settings()
        asyncio.run(run_until_signalled(serve_poller(settings)))


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run one privilege worker of the group (CLEVER_WORKER_*) until SIGTERM or Ctrl-C."""
    with reporting_errors(errors):
        run_worker(read_settings(WorkerSettings, what="the worker"), log=ctx.obj)


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: at Ctrl-C).")
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="Start the local broker with no earlier data.")
    ] = True,
) -> None:
    """Run the pipeline on embedded defaults: a local Kafka unless KAFKA_BOOTSTRAP_SERVERS."""
    with reporting_errors(errors):
        run_demo(
            _cli_settings(),
            _local_kafka_settings(),
            console=console,
            duration_s=duration,
            fresh=fresh,
        )


@app.command()
def replay(
    to_prefix: Annotated[
        str, typer.Option(help="The topic prefix of the rebuilt outputs (not the live one).")
    ],
    district: Annotated[
        list[str] | None,
        typer.Option(help="Replay only this district (repeat for more); default: every one."),
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option(help="The replay's worker group; default: <to-prefix>-privileges."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Use a worker group that has committed offsets already.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds the replay may take to reach the end.")
    ] = 3600.0,
) -> None:
    """Rebuild the raw topic (CLEVER_STREAM_TOPIC_PREFIX) into fresh outputs, then stop."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        worker = replay_settings(
            live_prefix=settings.topic_prefix,
            to_prefix=to_prefix,
            districts=district or (),
            app_id=app_id,
        )
        done = asyncio.run(run_replay(worker, kafka=kafka, force=force, timeout_s=timeout))
    console.print(
        f"Replayed {done.records} raw records of {done.raw_topic} into {done.outputs_prefix}.* "
        f"(group {done.group_id}): {done.changes} privilege changes in {done.seconds:.1f} s",
        soft_wrap=True,
    )


@app.command()
def resync(
    district: Annotated[
        list[str] | None,
        typer.Option(help="The district to resync (repeat for more)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Resync every district that has a cursor.")
    ] = False,
    reason: Annotated[
        str, typer.Option(help="Why: logged by the poller and shown by status.")
    ] = "operator request",
) -> None:
    """Ask the pollers to resync districts from Clever's Data API, running or not."""
    settings = _cli_settings()
    with reporting_errors(errors):
        if bool(district) == every:
            raise ConfigurationError(
                "name the districts to resync, or all of them",
                hint="pass --district <id> (repeatable) or --all",
            )
        kafka = _kafka(settings)
        requests = asyncio.run(
            request_resyncs(
                kafka,
                settings,
                districts=district or (),
                every=every,
                reason=reason,
                codec=default_codec(),
                now=utc_now(),
                timeout_s=settings.kafka_timeout_s,
            )
        )
    count = len(requests)
    console.print(
        f"Asked for a resync of {count} district{'' if count == 1 else 's'}:", highlight=False
    )
    for request in requests:
        console.print(
            f"  {request.district_id} (request {request.request_id})",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        "A running poller starts each at its next page, a stopped one when it starts; "
        "clever-stream status shows them pending until then.",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def status(
    group: Annotated[
        str | None,
        typer.Option(help="The worker group; default: <prefix>-privileges, as the worker's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Where the deployment stands, read from Kafka: districts, lag, owners, dead letters."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        found = asyncio.run(
            read_status(
                kafka,
                prefix=settings.topic_prefix,
                group_id=group or f"{settings.topic_prefix}-privileges",
                codec=default_codec(),
                now=utc_now(),
            )
        )
    if as_json:
        console.print_json(json.dumps(found.as_json()))
        return
    for line in status_lines(found):
        console.print(line, highlight=False, soft_wrap=True)


partitions_app = typer.Typer(
    help="The raw topic's partitions: how the workers' work is split.", no_args_is_help=True
)
app.add_typer(partitions_app, name="partitions")


@partitions_app.command("grow")
def partitions_grow(
    to: Annotated[int, typer.Option("--to", min=1, help="The raw topic's new partition count.")],
    dry_run: Annotated[
        bool, typer.Option(help="Check and say what would change, and change nothing.")
    ] = False,
    group: Annotated[
        str | None,
        typer.Option(help="The worker group; default: <prefix>-privileges, as the worker's."),
    ] = None,
    poller_id_prefix: Annotated[
        str | None,
        typer.Option(
            help="The pollers' transactional ID prefix (CLEVER_POLLER_TRANSACTIONAL_ID_PREFIX); "
            "default: <prefix>-poller."
        ),
    ] = None,
) -> None:
    """Grow the raw topic and the workers' changelogs to --to partitions, pollers and workers
    stopped; the outputs and their consumers are untouched."""
    settings = _cli_settings()
    prefix = settings.topic_prefix
    started = time.monotonic()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        plan = asyncio.run(
            grow_partitions(
                kafka,
                raw_topic=RAW_EVENTS.name(prefix),
                cursors_topic=POLLER_CURSORS.name(prefix),
                group_id=group or f"{prefix}-privileges",
                poller_id_prefix=poller_id_prefix or f"{prefix}-poller",
                target=to,
                dry_run=dry_run,
                timeout_s=settings.kafka_timeout_s,
            )
        )
    for line in growth_lines(plan, dry_run=dry_run, seconds=time.monotonic() - started):
        console.print(line, highlight=False, soft_wrap=True)


dead_letters_app = typer.Typer(
    help="What the workers could not process, by reason; and putting it back after a fix.",
    no_args_is_help=True,
)
app.add_typer(dead_letters_app, name="dead-letters")
ReasonOption = Annotated[
    str | None, typer.Option(help="Only letters of this reason (their error type).")
]
DistrictOption = Annotated[str | None, typer.Option(help="Only letters of this district.")]


@dead_letters_app.command("show")
def dead_letters_show(reason: ReasonOption = None, district: DistrictOption = None) -> None:
    """Each dead letter: where it sits, its reason, district and origin (never its content)."""
    settings = _cli_settings()
    letters = chosen(_letters(settings), reason=reason, district=district)
    for found in letters:
        letter = found.letter
        origin = (
            f"{letter.source_topic}[{letter.source_partition}]@{letter.source_offset}"
            if letter.source_topic
            else letter.source_url or "unknown origin"
        )
        console.print(
            f"[{found.partition}]@{found.offset} {letter.error_type} district "
            f"{letter.district_id or '-'} from {origin} at {letter.failed_at:%Y-%m-%d %H:%M:%S}",
            highlight=False,
            soft_wrap=True,
        )
    reasons = Counter(found.letter.error_type for found in letters)
    summary = ", ".join(f"{name} {count}" for name, count in sorted(reasons.items()))
    console.print(f"{len(letters)} dead letters" + (f": {summary}" if summary else ""))


@dead_letters_app.command("replay")
def dead_letters_replay(
    reason: ReasonOption = None,
    district: DistrictOption = None,
    dry_run: Annotated[bool, typer.Option(help="Say what would be replayed, and stop.")] = False,
) -> None:
    """Append the chosen letters' original records to the raw topic again, once fixed."""
    settings = _cli_settings()
    letters = chosen(_letters(settings), reason=reason, district=district)
    if dry_run:
        console.print(f"{len(letters)} dead letters would be replayed (dry run).")
        return
    with reporting_errors(errors):
        appended = asyncio.run(
            replay_letters(
                _kafka(settings),
                letters,
                prefix=settings.topic_prefix,
                transactional_id=f"{settings.topic_prefix}-dead-letters-replay",
            )
        )
    console.print(
        f"Appended {appended} records to {RAW_EVENTS.name(settings.topic_prefix)} "
        f"({len(letters) - appended} letters had no original record).",
        highlight=False,
        soft_wrap=True,
    )


def _letters(settings: CliSettings) -> list[Letter]:
    with reporting_errors(errors):
        kafka = _kafka(settings)
        return asyncio.run(
            read_letters(
                kafka,
                prefix=settings.topic_prefix,
                codec=default_codec(),
            )
        )


districts_app = typer.Typer(
    help="The districts the pollers poll, added and removed at run time (the districts "
    "topic; tokens encrypted under CLEVER_POLLER_DISTRICTS_KEY).",
    no_args_is_help=True,
)
app.add_typer(districts_app, name="districts")


@districts_app.command("add")
def districts_add(
    district_id: Annotated[
        str | None,
        typer.Option(help="The Clever district ID; default: asked of Clever with the token."),
    ] = None,
    api_version: Annotated[
        str, typer.Option(help="The Clever API version to poll it with: v3.0, v3.1 or v2.1.")
    ] = "v3.0",
    token_file: Annotated[
        Path | None,
        typer.Option(help="A file that holds the district-app token; default: read from stdin."),
    ] = None,
) -> None:
    """Add a district (or replace its token); every poller starts polling it. The token is
    read from --token-file or stdin, never from the command line."""
    settings = _cli_settings()
    with reporting_errors(errors):
        if api_version not in get_args(ApiVersion):
            raise ConfigurationError(
                f"unknown API version {api_version!r}", hint="pass v3.0, v3.1 or v2.1"
            )
        token = read_token(token_file)
        kafka = _kafka(settings)
        registration = asyncio.run(
            register_district(
                kafka,
                settings,
                token=token,
                district_id=district_id,
                api_version=cast("ApiVersion", api_version),
            )
        )
    console.print(
        f"Added district {registration.district_id} ({registration.api_version}, token "
        f"{fingerprint(token)}) to {POLLER_DISTRICTS.name(settings.topic_prefix)}: every poller "
        "polls it from its next read of the topic.",
        highlight=False,
        soft_wrap=True,
    )


@districts_app.command("remove")
def districts_remove(
    district_id: Annotated[str, typer.Argument(help="The Clever district ID.")],
) -> None:
    """Remove a district added with `districts add`; every poller stops polling it (its
    cursor stays: adding it again carries on where it stopped)."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        asyncio.run(
            remove_district(kafka, settings, district_id=district_id, codec=default_codec())
        )
    console.print(
        f"Removed district {district_id} from {POLLER_DISTRICTS.name(settings.topic_prefix)}: "
        "every poller stops polling it.",
        highlight=False,
        soft_wrap=True,
    )


@districts_app.command("list")
def districts_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Every district of every source (environment, file, districts topic): its ID, API
    version, when it was added, where from, and its token's fingerprint (never the token)."""
    settings = _cli_settings()
    with reporting_errors(errors):
        poller = read_settings(PollerSettings, what="the poller")
        file = districts_from_file(poller.districts_file) if poller.districts_file else []
        kafka = _kafka(settings)
        listed = asyncio.run(
            list_districts(kafka, settings, env=poller.districts, file=file, codec=default_codec())
        )
    if as_json:
        console.print_json(json.dumps([district.as_json() for district in listed]))
        return
    for line in listing_lines(listed):
        console.print(line, highlight=False, soft_wrap=True)


@districts_app.command("key")
def districts_key() -> None:
    """Print a new key for CLEVER_POLLER_DISTRICTS_KEY: make it once per deployment and keep
    it as a secret (whoever has it and the topic has every token)."""
    console.print(new_key(), highlight=False, soft_wrap=True)
    errors.print(
        "Keep this key as a secret; set CLEVER_POLLER_DISTRICTS_KEY to it for the CLI and "
        "every poller. A new key cannot read the tokens added with the old one.",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def selfcheck() -> None:
    """Prove the cluster serves transactions: an aborted and a committed write, read back."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)  # a cluster to check: never one started here
        trip = asyncio.run(_selfcheck(kafka, settings))
    console.print(
        f"OK: {kafka.bootstrap_servers} committed to {trip.topic}[{trip.partition}]@"
        f"{trip.offset} and hid the aborted write; read back in {trip.latency_ms:.0f} ms"
    )


async def _selfcheck(kafka: KafkaConnection, settings: CliSettings) -> RoundTrip:
    await ensure_pipeline_topics(kafka, settings, timeout_s=settings.kafka_timeout_s)
    return await transactional_round_trip(
        kafka,
        topic=SELFCHECK.name(settings.topic_prefix),
        timeout_s=settings.kafka_timeout_s,
    )


@topics_app.command("create")
def topics_create() -> None:
    """Create the pipeline's missing topics on KAFKA_BOOTSTRAP_SERVERS (idempotent)."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        outcomes = asyncio.run(
            ensure_pipeline_topics(kafka, settings, timeout_s=settings.kafka_timeout_s)
        )
    for outcome in outcomes:
        verb = "created" if outcome.created else "exists "
        console.print(f"{verb} {outcome.name} ({outcome.partitions} partitions)")


@topics_app.command("list")
def topics_list() -> None:
    """Print every topic of the pipeline under the configured prefix, as defined."""
    settings = _cli_settings()
    for spec in ALL_TOPICS:
        console.print(spec.name(settings.topic_prefix), soft_wrap=True, highlight=False)
        for line in definition_lines(spec, partitions=settings.topic_partitions):
            console.print(f"  {line}", highlight=False)


@topics_app.command("describe")
def topics_describe() -> None:
    """Print every topic of the pipeline as the cluster has it: partitions, replicas, records."""
    settings = _cli_settings()
    with reporting_errors(errors):
        kafka = _kafka(settings)
        topics = asyncio.run(describe_topics(kafka, prefix=settings.topic_prefix))
    for topic in topics:
        console.print(topic.name, soft_wrap=True, highlight=False)
        if topic.partitions == 0:
            console.print("  missing: `clever-stream topics create` makes it", highlight=False)
        else:
            console.print(
                f"  {topic.partitions} partitions, {topic.replicas} replicas each; "
                f"{topic.records:,} records a read_committed reader finds",
                highlight=False,
            )


def main() -> None:
    """Entry point of the ``clever-stream`` command."""
    app()


def _cli_settings() -> CliSettings:
    """The command's settings; a mistake in them is one line, no traceback."""
    with reporting_errors(errors):
        return read_settings(CliSettings, what="clever-stream")


def _local_kafka_settings() -> LocalKafkaSettings:
    """The local broker's settings; a mistake in them is one line, no traceback."""
    with reporting_errors(errors):
        return read_settings(LocalKafkaSettings, what="the local broker")


def _kafka(settings: CliSettings) -> KafkaConnection:
    """The cluster a command works on (KAFKA_BOOTSTRAP_SERVERS) and how to reach it
    (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*); without one, or with security
    settings that do not fit, a ``ConfigurationError`` saying what to set."""
    return settings.kafka_connection(
        hint="export KAFKA_BOOTSTRAP_SERVERS=host:port (`clever-stream kafka start` prints "
        "one for a local broker)"
    )
