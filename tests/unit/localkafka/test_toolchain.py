"""Finding Java 17+ and Maven, and the errors when they are missing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from localkafka.exceptions import JavaNotFoundError, MavenNotFoundError
from localkafka.toolchain import find_java, find_maven, parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        pytest.param('openjdk version "17.0.15" 2025-04-15', 17, id="openjdk-17"),
        pytest.param('openjdk version "21" 2023-09-19', 21, id="bare-major"),
        pytest.param('java version "1.8.0_292"', 8, id="legacy-1.x"),
        pytest.param('openjdk version "25-ea" 2025-09-16', 25, id="early-access"),
        pytest.param("no version here", None, id="unreadable"),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def fake_java(folder: Path, version_line: str) -> Path:
    """A ``bin/java`` that prints ``version_line`` as ``java -version`` does (on stderr)."""
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n", encoding="utf-8")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


def test_the_real_java_on_this_machine_is_found() -> None:
    assert find_java().major >= 17


def test_java_home_wins_over_path(tmp_path: Path) -> None:
    java = fake_java(tmp_path, 'openjdk version "21.0.1" 2023-10-17')

    found = find_java({"JAVA_HOME": str(tmp_path), "PATH": "/nonexistent"})

    assert (found.executable, found.major) == (java, 21)


def test_an_old_java_is_refused_with_what_to_do(tmp_path: Path) -> None:
    fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15')

    with pytest.raises(JavaNotFoundError, match="Java 11; Kafka 4 needs Java 17") as caught:
        find_java({"JAVA_HOME": str(tmp_path)})

    assert caught.value.hint is not None
    assert "JAVA_HOME" in caught.value.hint


def test_no_java_at_all(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="no java on PATH"):
        find_java({"PATH": str(tmp_path)})


def test_a_java_home_without_java(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="has no executable bin/java"):
        find_java({"JAVA_HOME": str(tmp_path)})


def test_no_maven(tmp_path: Path) -> None:
    with pytest.raises(MavenNotFoundError, match="no mvn on PATH") as caught:
        find_maven({"PATH": str(tmp_path)})

    assert "KAFKA_BOOTSTRAP_SERVERS" in str(caught.value)
