"""docker-compose.yml and .env.example agree with the settings classes and the pinned Kafka."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from clever_stream.cli import app
from clever_stream.settings import CliSettings
from foundation.settings import KafkaSettings
from localkafka.settings import KAFKA_VERSION, LocalKafkaSettings
from streams.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
# The project's packages; each one's `settings` module, if it has one, holds its deployable's
# settings, so a new deployable's variables are demanded here without editing this test.
PACKAGES = ("foundation", "clever_stream", "connectors", "streams", "localkafka")
# `NAME=value` or `# NAME=value` on a line of its own; prose comments never look like this.
ENV_LINE = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class defined in a ``<package>.settings`` module of the project."""
    found: list[type[BaseSettings]] = []
    for package in PACKAGES:
        if importlib.util.find_spec(f"{package}.settings") is None:
            continue
        module = importlib.import_module(f"{package}.settings")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module.__name__
        ]
    return found


def env_names(settings_class: type[BaseSettings]) -> dict[str, str]:
    """Each environment name ``settings_class`` reads, mapped to its field's name.

    As pydantic-settings does: a validation alias replaces ``env_prefix`` + field name.
    """
    prefix = settings_class.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            choices: list[str] = [f"{prefix}{field_name}"]
        elif isinstance(alias, str):
            choices = [alias]
        elif isinstance(alias, AliasChoices) and all(isinstance(c, str) for c in alias.choices):
            choices = [str(choice) for choice in alias.choices]
        else:
            pytest.fail(f"{settings_class.__name__}.{field_name}: unsupported alias {alias!r}")
        names.update({choice.upper(): field_name for choice in choices})
    return names


def all_env_names() -> set[str]:
    return {name for cls in settings_classes() for name in env_names(cls)}


def load_compose() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(compose, dict)
    return compose


def project_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from this project's Dockerfile."""
    return {name: spec for name, spec in compose["services"].items() if "build" in spec}


def env_example_lines() -> list[tuple[str, str]]:
    """``(name, value)`` of every variable line of .env.example, in order."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return [
        (match[1], match[2])
        for line in text.splitlines()
        if (match := ENV_LINE.match(line.strip()))
    ]


def as_env_value(value: object) -> str:
    """How a default is written in .env.example: unset as empty, booleans in lower case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return json.dumps(list(value))  # as the environment gives a list: JSON
    return str(value)


def compose_spec_errors(compose: dict[str, Any]) -> list[str]:
    """What the Compose Specification's schema (the one Docker Compose validates with,
    copied in tests/data/compose-spec) finds wrong in ``compose``."""
    schema = json.loads(
        (ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json").read_text("utf-8")
    )
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(compose)
    ]


def test_the_compose_file_follows_the_compose_spec() -> None:
    assert compose_spec_errors(load_compose()) == []


def test_the_compose_spec_check_finds_a_misspelled_key() -> None:
    compose = load_compose()
    compose["services"]["poller"]["healthcheck"]["intervall"] = "5s"

    assert any("intervall" in error for error in compose_spec_errors(compose))


def test_every_deployables_settings_class_is_found() -> None:
    assert {KafkaSettings, CliSettings, WorkerSettings, LocalKafkaSettings} <= set(
        settings_classes()
    )


def test_env_names_follow_prefixes_and_aliases() -> None:
    assert env_names(CliSettings) == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
        "CLEVER_STREAM_TOPIC_PREFIX": "topic_prefix",
        "CLEVER_STREAM_TOPIC_PARTITIONS": "topic_partitions",
        "CLEVER_STREAM_TOPIC_REPLICATION_FACTOR": "topic_replication_factor",
        "CLEVER_STREAM_KAFKA_TIMEOUT_S": "kafka_timeout_s",
        "CLEVER_POLLER_DISTRICTS_KEY": "districts_key",
        "CLEVER_POLLER_BASE_URL": "clever_base_url",
        **{
            f"KAFKA_{name}": f"kafka_{name.lower()}"
            for name in (
                "SECURITY_PROTOCOL",
                "SASL_MECHANISM",
                "SASL_USERNAME",
                "SASL_PASSWORD",
                "SASL_PASSWORD_FILE",
                "SSL_CA_LOCATION",
                "SSL_CERTIFICATE_LOCATION",
                "SSL_KEY_LOCATION",
                "SSL_KEY_PASSWORD",
                "SSL_ENDPOINT_IDENTIFICATION_ALGORITHM",
            )
        },
    }
    assert env_names(LocalKafkaSettings)["KAFKA_BOOTSTRAP_SERVERS"] == "bootstrap_servers"
    assert env_names(WorkerSettings)["CLEVER_WORKER_WEB_PORT"] == "web_port"


def test_project_services_set_only_settings_env_names() -> None:
    services = project_services(load_compose())
    known = all_env_names()

    assert {"topics", "demo"} <= services.keys()
    for name, service in services.items():
        environment = service.get("environment")
        assert isinstance(environment, dict), f"{name}: environment must be a KEY: value mapping"
        unknown = sorted(environment.keys() - known)
        assert not unknown, f"service {name} sets names no settings class reads: {unknown}"


def test_project_services_reach_kafka_on_its_internal_listener() -> None:
    compose = load_compose()
    kafka_environment = compose["services"]["kafka"]["environment"]
    advertised = dict(
        listener.split("://", 1)
        for listener in kafka_environment["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    internal = advertised[kafka_environment["KAFKA_INTER_BROKER_LISTENER_NAME"]]

    for name, service in project_services(compose).items():
        bootstrap = service["environment"].get("KAFKA_BOOTSTRAP_SERVERS")
        assert bootstrap == internal, (
            f"service {name}: KAFKA_BOOTSTRAP_SERVERS is {bootstrap!r}, "
            f"not kafka's internal listener {internal!r}"
        )


def test_kafka_service_is_the_pinned_single_node_broker() -> None:
    kafka = load_compose()["services"]["kafka"]
    environment = {key: str(value).lower() for key, value in kafka["environment"].items()}

    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert environment["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert environment["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert environment["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "healthcheck" in kafka


def test_pipeline_starts_after_kafka_is_healthy_and_topics_exist() -> None:
    services = load_compose()["services"]

    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["demo"]["depends_on"]["topics"]["condition"] == (
        "service_completed_successfully"
    )


def test_env_example_names_exactly_the_settings_env_names_once_each() -> None:
    counts = Counter(name for name, _ in env_example_lines())
    known = all_env_names()

    missing = sorted(known - counts.keys())
    unknown = sorted(counts.keys() - known)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    assert not missing, f"settings env names missing from .env.example: {missing}"
    assert not unknown, f".env.example names no settings class reads: {unknown}"
    assert not repeated, f".env.example lists these more than once: {repeated}"


def test_env_example_shows_each_default() -> None:
    shown = dict(env_example_lines())
    for cls in settings_classes():
        for env_name, field_name in env_names(cls).items():
            field = cls.model_fields[field_name]
            if field.default_factory is not None:
                continue  # depends on the environment (e.g. the cache folder); described in words
            assert shown.get(env_name) == as_env_value(field.default), (
                f"{env_name}: .env.example shows {shown.get(env_name)!r}, "
                f"{cls.__name__}.{field_name} defaults to {field.default!r}"
            )


def test_every_project_service_runs_a_command_of_the_one_cli() -> None:
    runner = CliRunner()
    for name, service in project_services(load_compose()).items():
        assert "entrypoint" not in service, f"{name}: the image's entrypoint is clever-stream"
        words = [word for word in service["command"] if word not in ("-v", "--debug")]
        command = list(itertools.takewhile(lambda word: not word.startswith("-"), words))
        shown = runner.invoke(app, [*command, "--help"])
        assert shown.exit_code == 0, f"{name}: clever-stream {' '.join(command)}: {shown.output}"
        assert "Usage" in shown.output


def test_the_compose_files_it_mounts_exist_and_the_fake_district_is_the_fake_s() -> None:
    services = load_compose()["services"]
    fake_token = services["fake-clever"]["command"][
        services["fake-clever"]["command"].index("--token") + 1
    ]
    districts = json.loads((ROOT / "deploy" / "fake-districts.json").read_text(encoding="utf-8"))

    assert districts == [{"token": fake_token}]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume
