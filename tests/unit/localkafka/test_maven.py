"""The Maven side of provisioning that needs no network: cache reuse and error classes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from localkafka.maven import (
    cached_jars,
    is_network_failure,
    kafka_dir,
    kafka_request,
    pom_text,
    resolution_key,
    resolve_kafka,
    summarize_maven_errors,
)
from localkafka.settings import KAFKA_VERSION, LocalKafkaSettings


def test_the_shipped_pom_pins_the_default_version() -> None:
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom_text()
    assert "<artifactId>kafka_2.13</artifactId>" in pom_text()


def test_the_resolution_key_follows_version_and_pom() -> None:
    request = kafka_request(LocalKafkaSettings(kafka_version="4.1.1"))
    key = resolution_key(request)

    assert key == resolution_key(kafka_request(LocalKafkaSettings(kafka_version="4.1.1")))
    assert key != resolution_key(kafka_request(LocalKafkaSettings(kafka_version="4.1.2")))
    assert key != resolution_key(replace(request, pom="<pom>changed</pom>"))


@pytest.mark.parametrize(
    "output",
    [
        "Could not transfer artifact x from/to central: Unknown host repo.maven.apache.org",
        "Connect to 127.0.0.1:9 [/127.0.0.1] failed: Connection refused",
        "java.net.SocketTimeoutException: Read timed out",
    ],
)
def test_network_failures_are_told_apart(output: str) -> None:
    assert is_network_failure(output)


def test_a_missing_artifact_is_not_a_network_failure() -> None:
    assert not is_network_failure(
        "Could not find artifact org.apache.kafka:kafka_2.13:jar:9.9.9 in central"
    )


def complete_cache(settings: LocalKafkaSettings) -> Path:
    folder = kafka_dir(settings, settings.kafka_version)
    (folder / "libs").mkdir(parents=True)
    (folder / "libs" / f"kafka_2.13-{settings.kafka_version}.jar").touch()
    (folder / ".resolved").write_text(resolution_key(kafka_request(settings)))
    return folder


def test_a_complete_cache_is_reused_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = LocalKafkaSettings(cache_dir=tmp_path)
    folder = complete_cache(settings)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))  # mvn would not be found

    jars = resolve_kafka(settings)

    assert jars.libs_dir == folder / "libs"
    assert jars.classpath == f"{folder / 'libs'}/*"


def test_an_interrupted_or_stale_cache_is_not_trusted(tmp_path: Path) -> None:
    settings = LocalKafkaSettings(cache_dir=tmp_path)
    folder = complete_cache(settings)

    (folder / ".resolved").write_text("a key of another pom")
    assert cached_jars(settings) is None
    (folder / ".resolved").unlink()
    assert cached_jars(settings) is None


def test_maven_errors_are_summarized_without_its_generic_advice() -> None:
    output = "\n".join(
        [
            "[INFO] BUILD FAILURE",
            "[ERROR] Failed to execute goal: Could not find artifact x:y:jar:9 -> [Help 1]",
            "[ERROR] ",
            "[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.",
            "[ERROR] Re-run Maven using the -X switch to enable full debug logging.",
            "[ERROR] For more information about the errors and possible solutions, please read"
            " the following articles:",
            "[ERROR] [Help 1] http://cwiki.apache.org/confluence/display/MAVEN/X",
        ]
    )

    assert summarize_maven_errors(output) == (
        "[ERROR] Failed to execute goal: Could not find artifact x:y:jar:9"
    )
