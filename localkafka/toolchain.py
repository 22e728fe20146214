"""Find a Java 17+ runtime and Maven, or say exactly what is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from localkafka.exceptions import JavaNotFoundError, MavenNotFoundError

MINIMUM_JAVA = 17
_JAVA_HINT = (
    "install OpenJDK 17 or newer (Debian: apt-get install openjdk-17-jre-headless) "
    "and put it on PATH or set JAVA_HOME; or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
)
_VERSION_PATTERN = re.compile(r'version "(?P<first>\d+)(?:\.(?P<second>\d+))?')


@dataclass(frozen=True)
class Java:
    """A Java runtime we checked: its executable and major version."""

    executable: Path
    major: int


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output; ``1.8.0`` style means 8."""
    match = _VERSION_PATTERN.search(version_output)
    if match is None:
        return None
    first = int(match["first"])
    if first == 1 and match["second"] is not None:
        return int(match["second"])
    return first


def find_java(environ: dict[str, str] | None = None) -> Java:
    """The ``java`` of JAVA_HOME, else of PATH, checked to be 17 or newer."""
    env = os.environ if environ is None else environ
    java_home = env.get("JAVA_HOME")
    candidate: str | None
    if java_home:
        candidate = str(Path(java_home) / "bin" / "java")
        if not os.access(candidate, os.X_OK):
            raise JavaNotFoundError(
                f"JAVA_HOME is {java_home}, but it has no executable bin/java", hint=_JAVA_HINT
            )
    else:
        candidate = shutil.which("java", path=env.get("PATH"))
        if candidate is None:
            raise JavaNotFoundError("no java on PATH and JAVA_HOME is not set", hint=_JAVA_HINT)
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [candidate, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise JavaNotFoundError(f"{candidate} -version failed: {error}", hint=_JAVA_HINT) from error
    major = parse_java_major(completed.stderr + completed.stdout)
    if major is None:
        raise JavaNotFoundError(f"could not read the version of {candidate}", hint=_JAVA_HINT)
    if major < MINIMUM_JAVA:
        raise JavaNotFoundError(
            f"{candidate} is Java {major}; Kafka 4 needs Java {MINIMUM_JAVA} or newer",
            hint=_JAVA_HINT,
        )
    return Java(executable=Path(candidate), major=major)


def find_maven(environ: dict[str, str] | None = None) -> Path:
    """The ``mvn`` on PATH."""
    env = os.environ if environ is None else environ
    candidate = shutil.which("mvn", path=env.get("PATH"))
    if candidate is None:
        raise MavenNotFoundError(
            "no mvn on PATH: Maven resolves Kafka from Maven Central",
            hint=(
                "install Apache Maven 3.6 or newer (Debian: apt-get install maven); "
                "or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
            ),
        )
    return Path(candidate)
