"""Maven's failures, for real: an unreachable repository and a version that does not exist."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from localkafka.exceptions import MavenCentralUnreachableError, MavenResolveError
from localkafka.maven import cached_jars, resolve_kafka
from localkafka.settings import LocalKafkaSettings

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def test_an_unreachable_repository_says_what_to_do(tmp_path: Path) -> None:
    # A Maven settings file whose mirror of everything is a port nobody listens on, and an
    # empty local repository: Maven must reach the network, and cannot.
    maven_settings = tmp_path / "settings.xml"
    maven_settings.write_text(
        f"""<settings>
  <localRepository>{tmp_path / "m2"}</localRepository>
  <mirrors><mirror>
    <id>unreachable</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:{closed_port()}/maven2</url>
  </mirror></mirrors>
</settings>
""",
        encoding="utf-8",
    )
    settings = LocalKafkaSettings(cache_dir=tmp_path / "cache", maven_settings=maven_settings)

    with pytest.raises(MavenCentralUnreachableError, match="could not reach") as caught:
        resolve_kafka(settings)

    assert caught.value.hint is not None
    assert "LOCAL_KAFKA_MAVEN_SETTINGS" in caught.value.hint
    assert "KAFKA_BOOTSTRAP_SERVERS" in caught.value.hint
    assert cached_jars(settings) is None  # nothing half-resolved is taken for complete


def test_a_version_that_does_not_exist_is_not_called_a_network_problem(tmp_path: Path) -> None:
    settings = LocalKafkaSettings(cache_dir=tmp_path / "cache", kafka_version="0.0.0-none")

    with pytest.raises(MavenResolveError, match="could not resolve") as caught:
        resolve_kafka(settings)

    assert not isinstance(caught.value, MavenCentralUnreachableError)
    assert "LOCAL_KAFKA_KAFKA_VERSION" in str(caught.value)
