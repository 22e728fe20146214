"""The poller's settings: districts from the environment and a file, errors without tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.service import load_settings, serve
from connectors.settings import PollerSettings
from foundation.exceptions import ConfigurationError

SECRET = "tok-very-secret-123"  # noqa: S105 - a made-up token the errors must not show


def test_districts_come_from_the_environment_and_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "districts.json"
    file.write_text(json.dumps([{"token": "b", "api_version": "v2.1"}]))
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS", json.dumps([{"token": "a", "district_id": "d1"}]))
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS_FILE", str(file))

    districts = PollerSettings().all_districts()

    assert [(d.district_id, d.api_version) for d in districts] == [("d1", "v3.0"), (None, "v2.1")]
    assert [d.token.get_secret_value() for d in districts] == ["a", "b"]
    assert "a" not in repr(districts[0].token)


def test_no_configured_district_is_fine_districts_may_come_from_the_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLEVER_POLLER_DISTRICTS", raising=False)
    monkeypatch.delenv("CLEVER_POLLER_DISTRICTS_FILE", raising=False)

    assert PollerSettings().all_districts() == ()


def test_a_bad_district_entry_is_reported_without_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv(
        "CLEVER_POLLER_DISTRICTS", json.dumps([{"token": SECRET, "api_version": "v9"}])
    )
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "api_version" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_bad_districts_file_is_reported_without_its_tokens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "districts.json"
    file.write_text(json.dumps([{"token": SECRET, "surprise": 1}]))
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS_FILE", str(file))
    with pytest.raises(ConfigurationError) as raised:
        PollerSettings().all_districts()
    assert SECRET not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_the_poller_needs_a_kafka_cluster_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS", json.dumps([{"token": "a"}]))
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS") as raised:
        await serve(load_settings())
    assert "local-kafka start prints one" in str(raised.value)


async def test_the_poller_refuses_security_settings_that_do_not_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    for name in ("MECHANISM", "USERNAME", "PASSWORD", "PASSWORD_FILE"):
        monkeypatch.delenv(f"KAFKA_SASL_{name}", raising=False)
    monkeypatch.setenv("CLEVER_POLLER_DISTRICTS", json.dumps([{"token": "a"}]))
    with pytest.raises(ConfigurationError, match="needs KAFKA_SASL_MECHANISM"):
        await serve(load_settings())
