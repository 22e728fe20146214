"""The `local-kafka` and `clever-stream` commands: output and exit codes a user relies on."""

from __future__ import annotations

import re
import uuid

import pytest

from foundation.console import PROJECT_ERROR
from localkafka.cli import NOT_RUNNING
from localkafka.procs import is_alive
from schemas.topics import ALL_TOPICS
from tests.e2e.conftest import CommandEnv, run_command

pytestmark = pytest.mark.e2e


def test_local_kafka_start_status_stop(command_env: CommandEnv) -> None:
    env = command_env()
    try:
        started = run_command("localkafka", "start", env=env)
        assert started.code == 0, started.output
        pid = int(re.search(r"Started Kafka \S+ pid (\d+)", started.output)[1])  # type: ignore[index]
        assert "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:" in started.output

        # The broker outlives the command that started it.
        status = run_command("localkafka", "status", env=env)
        assert (status.code, status.output.startswith("Running: serving at")) == (0, True)
        again = run_command("localkafka", "start", env=env)
        assert "Already running: Kafka" in again.output
        assert f"pid {pid}" in again.output
    finally:
        stopped = run_command("localkafka", "stop", env=env)
    assert (stopped.code, stopped.output.strip()) == (0, "Stopped.")
    assert not is_alive(pid)
    status = run_command("localkafka", "status", env=env)
    assert status.code == NOT_RUNNING


def test_topics_create_needs_a_cluster_and_says_how(command_env: CommandEnv) -> None:
    finished = run_command("clever_stream", "topics", "create", env=command_env())

    assert finished.code == PROJECT_ERROR
    assert "KAFKA_BOOTSTRAP_SERVERS is empty" in finished.output
    assert "What to do:" in finished.output
    assert "Traceback" not in finished.output


def test_topics_create_is_idempotent(command_env: CommandEnv, bootstrap_servers: str) -> None:
    # A prefix of this run's own: a broker kept between runs has the last run's topics.
    env = command_env(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=f"e2e-topics-{uuid.uuid4().hex[:8]}",
    )

    first = run_command("clever_stream", "topics", "create", env=env)
    second = run_command("clever_stream", "topics", "create", env=env)

    assert first.code == second.code == 0, first.output + second.output
    assert first.output.count("created ") == len(ALL_TOPICS)
    assert second.output.count("exists ") == len(ALL_TOPICS)


def test_selfcheck_against_a_cluster(command_env: CommandEnv, bootstrap_servers: str) -> None:
    finished = run_command(
        "clever_stream", "selfcheck", env=command_env(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers)
    )

    assert finished.code == 0, finished.output
    # Its verdict is the last line: aiokafka may log a retried produce before it (a topic
    # just created has no in-sync replica for a moment).
    verdict = finished.output.strip().splitlines()[-1]
    assert verdict.startswith(f"OK: {bootstrap_servers} committed to"), finished.output


def test_schemas_check_says_the_contract_is_released(command_env: CommandEnv) -> None:
    finished = run_command("schemas", "check", env=command_env())

    assert finished.code == 0, finished.output
    assert "Every message schema is released as it stands." in finished.output


def test_schemas_release_dry_run_has_nothing_to_release(command_env: CommandEnv) -> None:
    finished = run_command("schemas", "release", "--dry-run", env=command_env())

    assert (finished.code, finished.output.strip()) == (0, "Nothing to release.")


@pytest.mark.parametrize(
    ("module", "args", "variables", "named"),
    [
        pytest.param(
            "streams", ("worker",), {"CLEVER_WORKER_SESSION_TIMEOUT_S": "abc"},
            "CLEVER_WORKER_SESSION_TIMEOUT_S", id="worker-number",
        ),
        pytest.param(
            "streams", ("worker",), {"CLEVER_WORKER_STORE": "redis://"},
            "CLEVER_WORKER_STORE", id="worker-store",
        ),
        pytest.param(
            "connectors", ("run",), {"CLEVER_POLLER_DISTRICTS": '[{"token": "tok-SECRET'},
            "CLEVER_POLLER_DISTRICTS", id="poller-broken-json",
        ),
        pytest.param(
            "connectors", ("run",),
            {"CLEVER_POLLER_DISTRICTS": '[{"token": "tok-SECRET", "api_version": "v9"}]'},
            "CLEVER_POLLER_DISTRICTS[0].api_version", id="poller-bad-district",
        ),
        pytest.param(
            "clever_stream", ("topics", "list"), {"CLEVER_STREAM_TOPIC_PARTITIONS": "zero"},
            "CLEVER_STREAM_TOPIC_PARTITIONS", id="cli-partitions",
        ),
        pytest.param(
            "localkafka", ("status",), {"LOCAL_KAFKA_PORT": "abc"},
            "LOCAL_KAFKA_PORT", id="local-kafka-port",
        ),
    ],
)  # fmt: skip
def test_a_configuration_mistake_is_one_line_and_what_to_do_never_a_traceback(
    command_env: CommandEnv, module: str, args: tuple[str, ...], variables: dict[str, str],
    named: str,
) -> None:  # fmt: skip
    # At 80 columns, as a terminal would be: the error is still one line.
    finished = run_command(module, *args, env=command_env(COLUMNS="80", **variables))

    assert finished.code == PROJECT_ERROR, finished.output
    lines = finished.output.strip().splitlines()
    assert len(lines) == 2, finished.output
    assert lines[0].startswith("error: ")
    assert f"{named}:" in lines[0]
    assert lines[1].startswith("What to do: ")
    assert "Traceback" not in finished.output
    assert "SECRET" not in finished.output


def test_clever_stream_prints_its_version(command_env: CommandEnv) -> None:
    finished = run_command("clever_stream", "--version", env=command_env())

    assert (finished.code, finished.output.strip()) == (0, "clever-stream 0.1.0")


@pytest.mark.parametrize(
    "args",
    [
        (), ("kafka",), ("kafka", "start"), ("kafka", "stop"), ("kafka", "status"),
        ("kafka", "resolve"), ("fake-clever",), ("poll",), ("worker",), ("topics", "create"),
        ("topics", "list"), ("topics", "describe"), ("replay",), ("status",), ("selfcheck",),
        ("demo",), ("dead-letters",), ("dead-letters", "show"), ("dead-letters", "replay"),
        ("districts",), ("districts", "add"), ("districts", "remove"), ("districts", "list"),
        ("districts", "key"),
    ],
    ids=lambda args: "-".join(args) or "clever-stream",
)  # fmt: skip
def test_every_command_of_the_one_cli_explains_itself(
    command_env: CommandEnv, args: tuple[str, ...]
) -> None:
    finished = run_command("clever_stream", *args, "--help", env=command_env(COLUMNS="80"))

    assert finished.code == 0, finished.output
    assert "Usage: " in finished.output
    assert max(len(line) for line in finished.output.splitlines()) <= 80


def test_selfcheck_needs_a_cluster_to_check_and_starts_none(command_env: CommandEnv) -> None:
    finished = run_command("clever_stream", "selfcheck", env=command_env())

    assert finished.code == PROJECT_ERROR
    assert "KAFKA_BOOTSTRAP_SERVERS is empty" in finished.output
    assert "Traceback" not in finished.output
    assert "OK:" not in finished.output


def test_the_local_broker_is_a_command_of_the_one_cli(command_env: CommandEnv) -> None:
    status = run_command("clever_stream", "kafka", "status", env=command_env())

    assert status.code == NOT_RUNNING
    assert status.output.startswith("Not running:")


def test_topics_list_shows_whole_names_and_describe_reads_the_cluster(
    command_env: CommandEnv, bootstrap_servers: str
) -> None:
    prefix = f"e2e-describe-{uuid.uuid4().hex[:8]}"
    env = command_env(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, CLEVER_STREAM_TOPIC_PREFIX=prefix, COLUMNS="80"
    )
    raw = f"{prefix}.clever.raw.v1"

    listed = run_command("clever_stream", "topics", "list", env=env)
    before = run_command("clever_stream", "topics", "describe", env=env)
    created = run_command("clever_stream", "topics", "create", env=env)
    after = run_command("clever_stream", "topics", "describe", env=env)

    assert listed.code == 0, listed.output
    assert raw in listed.output.splitlines()
    assert (before.code, before.output.count("missing: ")) == (0, len(ALL_TOPICS)), before.output
    assert created.code == 0, created.output
    assert after.code == 0, after.output
    lines = after.output.splitlines()
    assert lines[lines.index(raw) + 1].startswith("  6 partitions, 1 replicas each; 0 records")
    assert "missing" not in after.output
