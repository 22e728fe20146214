"""Every client of the pipeline over a secured cluster: the local broker started with
SASL_SSL and mutual-TLS listeners only (``local-kafka start --security sasl_ssl``).

The poller, a worker of each engine, and the commands that read and write Kafka (selfcheck,
topics, status, resync, dead letters, replay) are run as processes, configured by the
``KAFKA_*`` settings an operator sets; the outputs are read by the outside reader
(librdkafka) over SASL_SSL and compared with what Clever holds. A plaintext client, a wrong
password and a missing client certificate are refused, each in one line.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fakeclever import FakeClever, FakeDistrict
from foundation.console import PROJECT_ERROR
from localkafka import LocalKafka, LocalKafkaSettings, RunningBroker
from localkafka.broker import BrokerSecurity
from tests.e2e.conftest import Finished, clever_stream, run_command
from tests.e2e.processes import module_process, poller_env
from tests.e2e.test_differential_pipeline import SCHEMAS, final_state
from tests.e2e.test_downstream_example import run_example
from tests.e2e.test_worker_process import worker_env
from tests.model.reference import raw_text
from tests.outside_reader import read_topic, topic_exists
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """A broker of this module's own, with no plaintext listener at all."""
    settings = LocalKafkaSettings(
        state_dir=tmp_path_factory.mktemp("sasl-ssl-broker"), security="sasl_ssl"
    )
    kafka = LocalKafka(settings)
    broker = kafka.start()
    try:
        yield broker
    finally:
        kafka.stop()


def security_of(broker: RunningBroker) -> BrokerSecurity:
    assert broker.security is not None
    return broker.security


def password_of(broker: RunningBroker) -> str:
    return security_of(broker).files.password_file.read_text(encoding="utf-8").strip()


def secured(env: dict[str, str], broker: RunningBroker, mechanism: str) -> dict[str, str]:
    """``env`` with the KAFKA_* settings of a SASL_SSL client logging in with ``mechanism``."""
    env = {k: v for k, v in env.items() if not k.startswith("KAFKA_")}
    env.update(broker.client_environment(), KAFKA_SASL_MECHANISM=mechanism)
    return env


def librdkafka_security(broker: RunningBroker) -> dict[str, str]:
    """The outside reader's own settings for the same SASL_SSL listener."""
    files = security_of(broker).files
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": security_of(broker).username,
        "sasl.password": password_of(broker),
        "ssl.ca.location": str(files.ca_certificate),
    }


def command_env(prefix: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEVER_", "KAFKA_"))}
    env.update(CLEVER_STREAM_TOPIC_PREFIX=prefix, CLEVER_STREAM_TOPIC_PARTITIONS="3", **settings)
    env["COLUMNS"] = "200"
    return env


def refused_in_one_line(finished: Finished, *secrets: str) -> None:
    """The command refused with the CLI's error line and its hint, and nothing else."""
    assert finished.code == PROJECT_ERROR, finished.output
    assert finished.output.startswith("error: "), finished.output
    assert len(finished.output.strip().splitlines()) == 2, finished.output  # and "What to do"
    assert "Traceback" not in finished.output
    for secret in secrets:
        assert secret not in finished.output


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_sasl_mechanism_logs_in_and_a_transaction_round_trips(
    secure_broker: RunningBroker, mechanism: str, unique_name: Callable[[str], str]
) -> None:
    env = secured(command_env(unique_name("p")), secure_broker, mechanism)

    checked = run_command("clever_stream", "selfcheck", env=env)

    assert checked.code == 0, checked.output
    assert checked.output.startswith(f"OK: {secure_broker.bootstrap_servers} committed")
    assert password_of(secure_broker) not in checked.output


def test_mutual_tls_needs_the_client_certificate(
    secure_broker: RunningBroker, unique_name: Callable[[str], str]
) -> None:
    env = command_env(unique_name("p"), **security_of(secure_broker).tls_client_environment())
    without_certificate = {
        k: v
        for k, v in env.items()
        if k not in ("KAFKA_SSL_CERTIFICATE_LOCATION", "KAFKA_SSL_KEY_LOCATION")
    }

    checked = run_command("clever_stream", "selfcheck", env=env)
    refused = run_command("clever_stream", "topics", "describe", env=without_certificate)

    assert checked.code == 0, checked.output
    refused_in_one_line(refused)
    assert "could not reach Kafka" in refused.output


def test_a_plaintext_client_and_a_wrong_password_are_refused(
    secure_broker: RunningBroker, unique_name: Callable[[str], str]
) -> None:
    env = command_env(unique_name("p"), KAFKA_BOOTSTRAP_SERVERS=secure_broker.bootstrap_servers)
    wrong = secured(env, secure_broker, "SCRAM-SHA-512")
    wrong.pop("KAFKA_SASL_PASSWORD_FILE")
    wrong["KAFKA_SASL_PASSWORD"] = "not-the-password"  # noqa: S105 - a test's own
    half = secured(env, secure_broker, "PLAIN")
    half.pop("KAFKA_SASL_PASSWORD_FILE")

    plaintext = run_command("clever_stream", "topics", "describe", env=env)
    refused = run_command("clever_stream", "topics", "describe", env=wrong)
    incomplete = run_command("clever_stream", "topics", "describe", env=half)

    refused_in_one_line(plaintext)
    assert "KAFKA_SECURITY_PROTOCOL" in plaintext.output  # the hint names what to check
    refused_in_one_line(refused, "not-the-password")
    refused_in_one_line(incomplete)
    assert "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE" in incomplete.output


async def state_is_what_clever_holds(
    broker: RunningBroker, prefix: str, district: FakeDistrict
) -> bool:
    """Whether the state topic, read from outside, holds the district's pairs as Clever
    holds them."""
    topic, security = f"{prefix}.privileges.state.v1", librdkafka_security(broker)
    if not await asyncio.to_thread(
        topic_exists, broker.bootstrap_servers, topic, security=security
    ):
        return False  # the worker has not created it yet
    state = await asyncio.to_thread(
        read_topic, broker.bootstrap_servers, topic, SCHEMAS, security=security
    )
    held = {
        pair: (privilege.relationship_raw, privilege.contact_type_raw)
        for pair, privilege in final_state(state).get(district.id, {}).items()
    }
    truth = {
        (contact, student): (raw_text(relationship), raw_text(contact_type))
        for contact, student, relationship, contact_type in district.ground_truth()
    }
    return held == truth


@pytest.mark.parametrize("engine", ["native", "faust"])
async def test_the_pipeline_and_its_commands_run_over_sasl_ssl(
    secure_broker: RunningBroker,
    engine: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    prefix, app_id = unique_name("p"), unique_name("app")
    fake = FakeClever()
    district = fake.add_district(seed=77, contacts=20)
    servers = secure_broker.bootstrap_servers
    cli = secured(command_env(prefix), secure_broker, "SCRAM-SHA-512")
    working = secured(
        worker_env(servers, prefix, app_id, tmp_path / "worker", engine=engine),
        secure_broker,
        "SCRAM-SHA-256",
    )

    async def converged() -> None:
        await eventually(
            lambda: state_is_what_clever_holds(secure_broker, prefix, district),
            timeout_s=120,
            what="the state topic to hold what Clever holds",
        )

    async with fake.serve() as base_url:
        polling = secured(poller_env(servers, base_url, prefix, [district]), secure_broker, "PLAIN")
        async with (
            module_process("connectors", "run", env=polling, log=tmp_path / "poller.log"),
            module_process("streams", "worker", env=working, log=tmp_path / "worker.log"),
        ):
            await converged()
            district.random_changes(8, seed=3)
            await converged()
            downstream = await asyncio.to_thread(run_example, servers, prefix, env=cli)
            status = await clever_stream(cli, "status")
            resync = await clever_stream(cli, "resync", "--district", district.id)
            letters = await clever_stream(cli, "dead-letters", "show")
    replayed = await clever_stream(
        {**cli, "CLEVER_WORKER_DATA_DIR": str(tmp_path / "replay")},
        "replay",
        "--to-prefix",
        f"{prefix}-rebuilt",
    )

    # The documented downstream reader, over SASL_SSL with the same settings.
    assert {tuple(pair) for pair in downstream[district.id]} == district.ground_truth()
    assert status.code == 0, status.output
    assert district.id in status.output
    assert resync.code == 0, resync.output
    assert letters.code == 0, letters.output
    assert replayed.code == 0, replayed.output
    assert re.search(r"Replayed [1-9]\d* raw records", replayed.output), replayed.output
    assert await state_is_what_clever_holds(secure_broker, f"{prefix}-rebuilt", district)
    password = password_of(secure_broker)
    for log in (tmp_path / "poller.log", tmp_path / "worker.log"):
        assert password not in log.read_text(encoding="utf-8"), log
