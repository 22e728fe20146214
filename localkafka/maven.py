"""Resolve Kafka's jars from Maven Central with ``mvn`` into a cache folder, once."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
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


@dataclass(frozen=True)
class MavenRequest:
    """Jars to resolve: a pom and its properties, into ``<cache>/<folder>/libs``."""

    folder: str
    pom: str
    properties: Mapping[str, str]
    #: A jar that must be among the results, as a glob, e.g. ``kafka_2.13-*.jar``.
    expected_jar: str
    #: What the request is, for messages: ``org.apache.kafka:kafka_2.13:4.1.1``.
    coordinates: str
    #: What to do when Maven reaches the repository but the artifact is not there.
    not_found_hint: str


def pom_text() -> str:
    """The pom the project ships for Kafka (``localkafka/pom.xml``)."""
    return resources.files("localkafka").joinpath("pom.xml").read_text(encoding="utf-8")


def kafka_request(settings: LocalKafkaSettings) -> MavenRequest:
    """The Maven request for the Kafka broker of ``settings``."""
    version = settings.kafka_version
    return MavenRequest(
        folder=f"kafka-{version}",
        pom=pom_text(),
        properties={"kafka.version": version},
        expected_jar="kafka_2.13-*.jar",
        coordinates=f"org.apache.kafka:kafka_2.13:{version}",
        not_found_hint="check LOCAL_KAFKA_KAFKA_VERSION names a published Kafka 4.x or 3.9.x "
        "release",
    )


def resolution_key(request: MavenRequest) -> str:
    """What the cached jars were resolved from; a change of pom or properties resolves again."""
    properties = "\n".join(f"{key}={value}" for key, value in sorted(request.properties.items()))
    return hashlib.sha256(f"{properties}\n{request.pom}".encode()).hexdigest()


def is_network_failure(maven_output: str) -> bool:
    """Whether Maven failed because it could not reach the repository."""
    return any(marker in maven_output for marker in _NETWORK_MARKERS)


def kafka_dir(settings: LocalKafkaSettings, version: str) -> Path:
    """The cache folder of one Kafka version: its pom, ``libs/`` and completion marker."""
    return settings.resolved_cache_dir / f"kafka-{version}"


def cached_libs(request: MavenRequest, cache_dir: Path) -> Path | None:
    """The jars of ``request`` already in ``cache_dir``, if completely resolved."""
    folder = cache_dir / request.folder
    marker = folder / _MARKER
    libs = folder / "libs"
    if (
        marker.is_file()
        and marker.read_text(encoding="utf-8").strip() == resolution_key(request)
        and libs.is_dir()
    ):
        return libs
    return None


def cached_jars(settings: LocalKafkaSettings) -> KafkaJars | None:
    """Kafka's jars already in the cache for this version and pom, if complete."""
    libs = cached_libs(kafka_request(settings), settings.resolved_cache_dir)
    return None if libs is None else KafkaJars(version=settings.kafka_version, libs_dir=libs)


def resolve_kafka(settings: LocalKafkaSettings) -> KafkaJars:
    """Kafka's jars for ``settings.kafka_version``, resolving them with Maven if not cached."""
    libs = resolve_jars(
        kafka_request(settings),
        cache_dir=settings.resolved_cache_dir,
        maven_settings=settings.maven_settings,
        timeout_s=settings.maven_timeout_s,
    )
    return KafkaJars(version=settings.kafka_version, libs_dir=libs)


def resolve_jars(
    request: MavenRequest, *, cache_dir: Path, maven_settings: Path | None, timeout_s: float
) -> Path:
    """The ``libs`` folder of ``request``, resolving it with Maven if not cached.

    The copy goes to a temporary folder that is renamed into place, and a marker is written
    last, so an interrupted resolve is never mistaken for a complete one. A lock keeps two
    processes from resolving at once.
    """
    libs = cached_libs(request, cache_dir)
    if libs is not None:
        return libs
    with file_lock(cache_dir / ".resolve.lock", timeout_s=timeout_s, purpose="Maven resolve"):
        libs = cached_libs(request, cache_dir)  # another process may have finished meanwhile
        if libs is not None:
            return libs
        return _resolve_locked(
            request, cache_dir=cache_dir, maven_settings=maven_settings, timeout_s=timeout_s
        )


def _resolve_locked(
    request: MavenRequest, *, cache_dir: Path, maven_settings: Path | None, timeout_s: float
) -> Path:
    mvn = find_maven()
    folder = cache_dir / request.folder
    folder.mkdir(parents=True, exist_ok=True)
    pom_path = folder / "pom.xml"
    pom_path.write_text(request.pom, encoding="utf-8")
    staging = folder / "libs.partial"
    libs = folder / "libs"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        str(mvn),
        "--batch-mode",
        "--no-transfer-progress",
        "-Dstyle.color=never",
        "--file",
        str(pom_path),
        *(f"-D{key}={value}" for key, value in request.properties.items()),
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
        _COPY_DEPENDENCIES,
    ]
    if maven_settings is not None:
        command[1:1] = ["--settings", str(maven_settings)]
    logger.info("resolving %s with Maven into %s", request.coordinates, libs)
    started = time.monotonic()
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-Xmx512m")},
        )
    except subprocess.TimeoutExpired as error:
        raise MavenCentralUnreachableError(
            f"Maven did not finish resolving {request.coordinates} in {timeout_s:.0f}s",
            hint=_unreachable_hint(),
        ) from error
    output = _ANSI_ESCAPE.sub("", completed.stdout + completed.stderr)
    if completed.returncode != 0:
        tail = summarize_maven_errors(output)
        if is_network_failure(output):
            raise MavenCentralUnreachableError(
                f"Maven could not reach its repository to resolve {request.coordinates}:\n{tail}",
                hint=_unreachable_hint(),
            )
        raise MavenResolveError(
            f"Maven could not resolve {request.coordinates}:\n{tail}",
            hint=request.not_found_hint,
        )
    if not any(staging.glob(request.expected_jar)):
        raise MavenResolveError(
            f"Maven succeeded but left no {request.expected_jar} in {staging}",
            hint="delete the cache folder and retry; report the Maven output if it persists",
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (folder / _MARKER).write_text(resolution_key(request) + "\n", encoding="utf-8")
    logger.info(
        "resolved %s (%d jars) in %.1fs",
        request.coordinates,
        sum(1 for _ in libs.glob("*.jar")),
        time.monotonic() - started,
    )
    return libs


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
