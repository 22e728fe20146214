"""Resolve Kafka's jars from Maven Central with ``mvn`` into a cache folder, once."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from localkafka.exceptions import MavenCentralUnreachableError, MavenResolveError
from localkafka.filelock import file_lock
from localkafka.settings import LocalKafkaSettings
from localkafka.toolchain import find_maven

logger = logging.getLogger(__name__)

_MARKER = ".resolved"
# Named in full, so Maven needs no plugin-prefix lookup and the version is pinned.
_COPY_DEPENDENCIES = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
_SUMMARY_LINES = 8
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HELP_REFERENCE = re.compile(r" -> \[Help \d+\]$")
# Phrases Maven and its HTTP transport print when the repository cannot be reached at all,
# as opposed to reaching it and not finding an artifact.
_NETWORK_MARKERS = (
    "Could not transfer",
    "transfer failed for",
    "UnknownHostException",
    "Unknown host",
    "Connection refused",
    "Connect to ",
    "Network is unreachable",
    "No route to host",
    "ConnectTimeoutException",
    "SocketTimeoutException",
    "Read timed out",
    "connect timed out",
    "SSLHandshakeException",
    "status code: 407",
    "status code: 502",
    "status code: 503",
    "status code: 504",
)


@dataclass(frozen=True)
class KafkaJars:
    """The resolved jars of one Kafka version."""

    version: str
    libs_dir: Path

    @property
    def classpath(self) -> str:
        """A ``java -cp`` wildcard over every jar."""
        return str(self.libs_dir / "*")


def pom_text() -> str:
    """The pom the project ships (``localkafka/pom.xml``)."""
    return resources.files("localkafka").joinpath("pom.xml").read_text(encoding="utf-8")


def resolution_key(version: str, pom: str) -> str:
    """What the cached jars were resolved from; a change of either means resolve again."""
    return hashlib.sha256(f"{version}\n{pom}".encode()).hexdigest()


def is_network_failure(maven_output: str) -> bool:
    """Whether Maven failed because it could not reach the repository."""
    return any(marker in maven_output for marker in _NETWORK_MARKERS)


def kafka_dir(settings: LocalKafkaSettings, version: str) -> Path:
    """The cache folder of one Kafka version: its pom, ``libs/`` and completion marker."""
    return settings.resolved_cache_dir / f"kafka-{version}"


def cached_jars(settings: LocalKafkaSettings) -> KafkaJars | None:
    """The jars already in the cache for this version and pom, if complete."""
    version_dir = kafka_dir(settings, settings.kafka_version)
    marker = version_dir / _MARKER
    libs = version_dir / "libs"
    key = resolution_key(settings.kafka_version, pom_text())
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == key and libs.is_dir():
        return KafkaJars(version=settings.kafka_version, libs_dir=libs)
    return None


def resolve_kafka(settings: LocalKafkaSettings) -> KafkaJars:
    """Kafka's jars for ``settings.kafka_version``, resolving them with Maven if not cached.

    The copy goes to a temporary folder that is renamed into place, and a marker is written
    last, so an interrupted resolve is never mistaken for a complete one.
    """
    jars = cached_jars(settings)
    if jars is not None:
        return jars
    cache_dir = settings.resolved_cache_dir
    with file_lock(
        cache_dir / ".resolve.lock", timeout_s=settings.maven_timeout_s, purpose="Maven resolve"
    ):
        jars = cached_jars(settings)  # another process may have finished while we waited
        if jars is not None:
            return jars
        return _resolve_locked(settings)


def _resolve_locked(settings: LocalKafkaSettings) -> KafkaJars:
    mvn = find_maven()
    version = settings.kafka_version
    pom = pom_text()
    version_dir = kafka_dir(settings, version)
    version_dir.mkdir(parents=True, exist_ok=True)
    pom_path = version_dir / "pom.xml"
    pom_path.write_text(pom, encoding="utf-8")
    staging = version_dir / "libs.partial"
    libs = version_dir / "libs"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        str(mvn),
        "--batch-mode",
        "--no-transfer-progress",
        "-Dstyle.color=never",
        "--file",
        str(pom_path),
        f"-Dkafka.version={version}",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
        _COPY_DEPENDENCIES,
    ]
    if settings.maven_settings is not None:
        command[1:1] = ["--settings", str(settings.maven_settings)]
    logger.info("resolving org.apache.kafka:kafka_2.13:%s with Maven into %s", version, libs)
    started = time.monotonic()
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            command,
            capture_output=True,
            text=True,
            timeout=settings.maven_timeout_s,
            check=False,
            env={**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-Xmx512m")},
        )
    except subprocess.TimeoutExpired as error:
        raise MavenCentralUnreachableError(
            f"Maven did not finish resolving Kafka {version} in {settings.maven_timeout_s:.0f}s",
            hint=_unreachable_hint(),
        ) from error
    output = _ANSI_ESCAPE.sub("", completed.stdout + completed.stderr)
    if completed.returncode != 0:
        tail = summarize_maven_errors(output)
        if is_network_failure(output):
            raise MavenCentralUnreachableError(
                f"Maven could not reach its repository to resolve Kafka {version}:\n{tail}",
                hint=_unreachable_hint(),
            )
        raise MavenResolveError(
            f"Maven could not resolve org.apache.kafka:kafka_2.13:{version}:\n{tail}",
            hint="check LOCAL_KAFKA_KAFKA_VERSION names a published Kafka 4.x or 3.9.x release",
        )
    if not any(staging.glob("kafka_2.13-*.jar")):
        raise MavenResolveError(
            f"Maven succeeded but left no kafka_2.13 jar in {staging}",
            hint="delete the cache folder and retry; report the Maven output if it persists",
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (version_dir / _MARKER).write_text(resolution_key(version, pom) + "\n", encoding="utf-8")
    logger.info(
        "resolved Kafka %s (%d jars) in %.1fs",
        version,
        sum(1 for _ in libs.glob("*.jar")),
        time.monotonic() - started,
    )
    return KafkaJars(version=version, libs_dir=libs)


def summarize_maven_errors(maven_output: str) -> str:
    """Maven's own error lines, without its generic advice; the tail if there are none."""
    errors = [
        _HELP_REFERENCE.sub("", line)
        for line in maven_output.splitlines()
        if line.startswith("[ERROR] ")
        and line.strip() != "[ERROR]"
        and not line.startswith("[ERROR] [Help ")
        and "re-run maven" not in line.lower()
        and "please read the following" not in line
    ]
    lines = errors or maven_output.strip().splitlines()
    return "\n".join(lines[-_SUMMARY_LINES:])


def _unreachable_hint() -> str:
    return (
        "check the network or proxy to https://repo.maven.apache.org; a mirror or proxy goes in "
        "~/.m2/settings.xml or a file named by LOCAL_KAFKA_MAVEN_SETTINGS; "
        "or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
    )
