"""`clever-stream districts` and the pollers' registry, on the real broker: a district added
and removed at run time, its token never shown."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from typer.testing import CliRunner

from clever_stream.cli import app
from clever_stream.districts import add_district, list_districts, remove_district
from clever_stream.settings import CliSettings
from connectors.district_sources import DistrictSource
from connectors.district_tokens import fingerprint, new_key
from connectors.http import HttpOptions, new_http_client
from connectors.registry import DistrictRegistry
from connectors.settings import DistrictConfig, PollerSettings
from foundation.clock import utc_now
from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from schemas.codec import default_codec
from schemas.provision import ensure_pipeline_topics
from tests.fake_clever_fixtures import RunningFakeClever
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SECRET = "tok-registered-secret-9f"  # noqa: S105 - a made-up token no output may show


def cli_settings(bootstrap_servers: str, prefix: str, key: str | None) -> CliSettings:
    return CliSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        CLEVER_STREAM_TOPIC_PARTITIONS=1,
        CLEVER_POLLER_DISTRICTS_KEY=key,
    )


def poller_settings(bootstrap_servers: str, prefix: str, key: str | None, **more: Any) -> Any:
    return PollerSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        CLEVER_STREAM_TOPIC_PREFIX=prefix,
        districts_key=key,
        district_backoff_s=0.2,
        **more,
    )


class Changes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@asynccontextmanager
async def running(registry: DistrictRegistry) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(registry.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def token_of(registry: DistrictRegistry, district_id: str) -> str | None:
    config: DistrictConfig | None = registry.current().get(district_id)
    return config.token.get_secret_value() if config else None


async def test_a_district_added_and_removed_reaches_a_running_registry(
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    fake_clever: RunningFakeClever,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    prefix, key = unique_name("p"), new_key()
    settings = cli_settings(bootstrap_servers, prefix, key)
    kafka = KafkaConnection(bootstrap_servers)
    codec = default_codec()
    await ensure_pipeline_topics(kafka, settings, timeout_s=30)
    changes = Changes()
    registry = DistrictRegistry(
        poller_settings(
            bootstrap_servers, prefix, key, districts=[{"token": "env-t", "district_id": "e1"}]
        ),
        kafka=kafka,
        codec=codec,
        on_change=changes,
    )
    token = fake_clever.district.token
    async with running(registry):
        await asyncio.wait_for(registry.loaded(), 30)
        assert set(registry.current()) == {"e1"}
        assert changes.count == 0

        async with new_http_client(HttpOptions(base_url=fake_clever.base_url)) as http:
            added = await add_district(
                kafka,
                settings,
                token=token,
                district_id=None,  # asked of Clever
                api_version="v3.1",
                codec=codec,
                now=utc_now(),
                http=http,
            )
        assert added.district_id == fake_clever.district.id

        async def added_seen() -> bool:
            return token_of(registry, added.district_id) == token

        await eventually(
            added_seen,
            timeout_s=30,
            what="the registry to see the added district",
        )
        assert registry.current()[added.district_id].api_version == "v3.1"
        assert changes.count == 1
        listed = await list_districts(kafka, settings, env=[], file=[], codec=codec)
        assert [(d.key, d.source, d.token_fingerprint) for d in listed] == [
            (added.district_id, DistrictSource.TOPIC, fingerprint(token))
        ]

        await remove_district(kafka, settings, district_id=added.district_id, codec=codec)

        async def removal_seen() -> bool:
            return added.district_id not in registry.current()

        await eventually(
            removal_seen,
            timeout_s=30,
            what="the registry to drop the removed district",
        )
        assert set(registry.current()) == {"e1"}
        assert changes.count == 2
        with pytest.raises(ConfigurationError, match="not on the districts topic"):
            await remove_district(kafka, settings, district_id=added.district_id, codec=codec)
    assert token not in caplog.text


async def test_a_registry_starts_with_the_topics_districts_and_skips_another_keys(
    bootstrap_servers: str, unique_name: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, key, other_key = unique_name("p"), new_key(), new_key()
    kafka = KafkaConnection(bootstrap_servers)
    codec = default_codec()
    http = new_http_client(HttpOptions())  # not asked: every district is named
    async with http:
        for district_id, with_key in (("d1", key), ("d2", other_key)):
            await add_district(
                kafka,
                cli_settings(bootstrap_servers, prefix, with_key),
                token=f"{SECRET}-{district_id}",
                district_id=district_id,
                api_version="v3.0",
                codec=codec,
                now=utc_now(),
                http=http,
            )
    caplog.set_level(logging.INFO)
    changes = Changes()
    registry = DistrictRegistry(
        poller_settings(bootstrap_servers, prefix, key), kafka=kafka, codec=codec, on_change=changes
    )
    async with running(registry):
        await asyncio.wait_for(registry.loaded(), 30)

        assert token_of(registry, "d1") == f"{SECRET}-d1"
        assert set(registry.current()) == {"d1"}
        assert changes.count == 1
    assert "district d2 on " in caplog.text
    assert "encrypted with another key" in caplog.text
    assert SECRET not in caplog.text
    listed = await list_districts(
        kafka, cli_settings(bootstrap_servers, prefix, key), env=[], file=[], codec=codec
    )
    assert [(d.key, d.note) for d in listed] == [
        ("d1", ""),
        ("d2", "encrypted with another key: the pollers skip it"),
    ]


async def test_a_poller_without_the_key_refuses_a_topic_that_holds_districts(
    bootstrap_servers: str, unique_name: Callable[[str], str]
) -> None:
    prefix = unique_name("p")
    kafka = KafkaConnection(bootstrap_servers)
    codec = default_codec()
    await ensure_pipeline_topics(kafka, cli_settings(bootstrap_servers, prefix, None), timeout_s=30)
    empty = DistrictRegistry(
        poller_settings(bootstrap_servers, prefix, None), kafka=kafka, codec=codec
    )
    async with running(empty):
        await asyncio.wait_for(empty.loaded(), 30)  # an empty topic needs no key
    async with new_http_client(HttpOptions()) as http:
        await add_district(
            kafka,
            cli_settings(bootstrap_servers, prefix, new_key()),
            token=SECRET,
            district_id="d1",
            api_version="v3.0",
            codec=codec,
            now=utc_now(),
            http=http,
        )
    registry = DistrictRegistry(
        poller_settings(bootstrap_servers, prefix, None), kafka=kafka, codec=codec
    )

    with pytest.raises(ConfigurationError, match="CLEVER_POLLER_DISTRICTS_KEY is unset") as raised:
        await asyncio.wait_for(registry.run(), 30)
    assert "the key the CLI used" in str(raised.value)
    with pytest.raises(ConfigurationError):
        await registry.loaded()


def test_the_cli_adds_lists_and_removes_a_district_and_never_shows_its_token(
    bootstrap_servers: str,
    unique_name: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    prefix = unique_name("p")
    for name in ("CLEVER_POLLER_DISTRICTS", "CLEVER_POLLER_DISTRICTS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("CLEVER_STREAM_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("CLEVER_STREAM_TOPIC_PARTITIONS", "1")
    runner = CliRunner()

    no_key = runner.invoke(app, ["districts", "add", "--district-id", "d1"], input=SECRET)
    assert no_key.exit_code != 0
    assert "CLEVER_POLLER_DISTRICTS_KEY is unset" in no_key.output
    assert "Traceback" not in no_key.output

    key = runner.invoke(app, ["districts", "key"])
    assert key.exit_code == 0, key.output
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS_KEY", key.stdout.strip())
    token_file = tmp_path / "token"
    token_file.write_text(f"{SECRET}\n", encoding="utf-8")
    outputs = [
        runner.invoke(app, ["districts", "add", "--district-id", "d1"], input=SECRET),
        runner.invoke(
            app,
            [
                *("districts", "add", "--district-id", "d2", "--api-version", "v2.1"),
                *("--token-file", str(token_file)),
            ],
        ),
    ]
    listed = runner.invoke(app, ["districts", "list"])
    as_json = runner.invoke(app, ["districts", "list", "--json"])
    removed = runner.invoke(app, ["districts", "remove", "d1"])
    again = runner.invoke(app, ["districts", "remove", "d1"])
    after = runner.invoke(app, ["districts", "list", "--json"])

    for result in [*outputs, listed, as_json, removed]:
        assert result.exit_code == 0, result.output
    assert "Added district d1 (v3.0, token " + fingerprint(SECRET) in outputs[0].output
    assert fingerprint(SECRET) in listed.output
    assert "d2  v2.1" in listed.output
    assert [(d["district"], d["source"]) for d in json.loads(as_json.stdout)] == [
        ("d1", "topic"),
        ("d2", "topic"),
    ]
    assert "Removed district d1" in removed.output
    assert again.exit_code != 0
    assert "district d1 is not on the districts topic" in again.output
    assert "Traceback" not in again.output
    assert [d["district"] for d in json.loads(after.stdout)] == ["d2"]
    for result in [no_key, key, *outputs, listed, as_json, removed, again, after]:
        assert SECRET not in result.output


async def test_a_running_registry_picks_up_a_changed_districts_file(
    bootstrap_servers: str, unique_name: Callable[[str], str], tmp_path: Any
) -> None:
    prefix = unique_name("p")
    kafka = KafkaConnection(bootstrap_servers)
    await ensure_pipeline_topics(kafka, cli_settings(bootstrap_servers, prefix, None), timeout_s=30)
    path = tmp_path / "districts.json"
    path.write_text(json.dumps([{"token": "t1", "district_id": "f1"}]), encoding="utf-8")
    changes = Changes()
    registry = DistrictRegistry(
        poller_settings(
            bootstrap_servers, prefix, None, districts_file=path, districts_refresh_s=0.05
        ),
        kafka=kafka,
        codec=default_codec(),
        on_change=changes,
    )
    async with running(registry):
        await asyncio.wait_for(registry.loaded(), 30)
        assert set(registry.current()) == {"f1"}
        path.write_text(json.dumps([{"token": "t22", "district_id": "f2"}]), encoding="utf-8")

        async def file_seen() -> bool:
            return set(registry.current()) == {"f2"}

        await eventually(file_seen, timeout_s=30, what="the registry to re-read the file")
        assert token_of(registry, "f2") == "t22"
        assert changes.count == 1
