"""The district registry's sources: merged by precedence, the file re-read when it changes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.district_sources import DistrictSource, merge_districts
from connectors.registry import DistrictRegistry
from connectors.settings import DistrictConfig, PollerSettings
from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from schemas.codec import default_codec

SECRET = "tok-file-secret-77"  # noqa: S105 - a made-up token no log may show
KAFKA = KafkaConnection("127.0.0.1:9")  # never reached: these tests do not run the registry


def district(token: str, district_id: str | None = None, **more: Any) -> DistrictConfig:
    return DistrictConfig(token=SecretStr(token), district_id=district_id, **more)


def tokens(districts: Any) -> dict[str, str]:
    return {key: config.token.get_secret_value() for key, config in districts.items()}


def write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(entries), encoding="utf-8")
    # A rewrite within the file system's time resolution changes the size here, or this.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


class Changes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def registry_of(path: Path | None, changes: Changes, **settings: Any) -> DistrictRegistry:
    return DistrictRegistry(
        PollerSettings(districts_file=path, **settings),
        kafka=KAFKA,
        codec=default_codec(),
        on_change=changes,
    )


def test_the_environment_wins_over_the_file_and_the_file_over_the_topic() -> None:
    merged = merge_districts(
        env=[district("env-a", "a"), district("env-anon")],
        file=[district("file-a", "a"), district("file-b", "b"), district("file-anon")],
        topic={"b": district("topic-b", "b"), "c": district("topic-c", "c")},
    )

    assert tokens(merged.districts) == {
        "a": "env-a",
        "#1": "env-anon",
        "b": "file-b",
        "#4": "file-anon",
        "c": "topic-c",
    }
    assert merged.sources == {
        "a": DistrictSource.ENV,
        "#1": DistrictSource.ENV,
        "b": DistrictSource.FILE,
        "#4": DistrictSource.FILE,
        "c": DistrictSource.TOPIC,
    }
    assert merged.shadowed == {"a", "b"}


def test_a_district_given_twice_is_warned_of_by_id_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "districts.json"
    write(path, [{"token": SECRET, "district_id": "a"}])
    caplog.set_level(logging.INFO)

    registry = registry_of(path, Changes(), districts=[{"token": "env-a", "district_id": "a"}])

    assert tokens(registry.current()) == {"a": "env-a"}
    assert "district a is configured more than once" in caplog.text
    assert SECRET not in caplog.text


def test_the_file_is_read_at_start_and_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    write(path, [{"token": "t1", "district_id": "d1"}])
    changes = Changes()
    registry = registry_of(path, changes, districts=[{"token": "env"}])

    assert tokens(registry.current()) == {"#0": "env", "d1": "t1"}
    assert registry.check_file() is False
    write(path, [{"token": "t1", "district_id": "d1"}, {"token": "t2", "district_id": "d2"}])
    assert registry.check_file() is True
    assert tokens(registry.current()) == {"#0": "env", "d1": "t1", "d2": "t2"}
    write(path, [{"token": "t2", "district_id": "d2"}])
    assert registry.check_file() is True

    assert tokens(registry.current()) == {"#0": "env", "d2": "t2"}
    assert changes.count == 2  # not at start: on_change tells of changes while it runs


def test_a_file_rewritten_with_the_same_districts_is_no_change(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    write(path, [{"token": "t1", "district_id": "d1"}])
    changes = Changes()
    registry = registry_of(path, changes)

    write(path, [{"district_id": "d1", "token": "t1"}])

    assert registry.check_file() is False
    assert changes.count == 0


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda path: path.write_text("[{", encoding="utf-8"), id="not-json"),
        pytest.param(
            lambda path: path.write_text(json.dumps([{"token": SECRET, "oops": 1}])),
            id="not-a-district",
        ),
        pytest.param(lambda path: path.unlink(), id="gone"),
    ],
)
def test_a_file_broken_at_run_time_keeps_its_last_districts_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, breakage: Any
) -> None:
    path = tmp_path / "districts.json"
    write(path, [{"token": "t1", "district_id": "d1"}])
    changes = Changes()
    registry = registry_of(path, changes)

    breakage(path)
    assert registry.check_file() is False
    assert registry.check_file() is False

    assert tokens(registry.current()) == {"d1": "t1"}
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "keeping its last 1 districts" in errors[0].getMessage()
    assert SECRET not in caplog.text
    write(path, [{"token": "t3", "district_id": "d3"}])
    assert registry.check_file() is True
    assert tokens(registry.current()) == {"d3": "t3"}
    assert changes.count == 1


def test_a_bad_file_at_start_is_a_configuration_error_without_its_tokens(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    path.write_text(json.dumps([{"token": SECRET, "surprise": 1}]), encoding="utf-8")

    with pytest.raises(ConfigurationError) as raised:
        registry_of(path, Changes())
    assert SECRET not in str(raised.value)
    with pytest.raises(ConfigurationError, match="cannot read the districts file"):
        registry_of(tmp_path / "missing.json", Changes())


def test_without_a_file_there_is_nothing_to_check() -> None:
    registry = registry_of(None, Changes(), districts=[{"token": "t", "district_id": "d"}])

    assert registry.check_file() is False
    assert tokens(registry.current()) == {"d": "t"}


def test_a_districts_key_that_is_not_one_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError, match="CLEVER_POLLER_DISTRICTS_KEY"):
        registry_of(None, Changes(), districts_key="nope")
