"""The Faust app factory: configured from settings, connecting to nothing until started."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.types.enums import ProcessingGuarantee

from foundation.exceptions import ConfigurationError
from streams.engines.faust.app import create_app
from streams.settings import WorkerSettings


def test_the_app_is_configured_from_settings(tmp_path: Path) -> None:
    settings = WorkerSettings(
        KAFKA_BOOTSTRAP_SERVERS="kafka-1:9092, kafka-2:9092",
        app_id="privileges-test",
        data_dir=tmp_path,
        web_port=7070,
    )

    app = create_app(settings, replication_factor=3)

    assert app.conf.id == "privileges-test"
    assert [str(url) for url in app.conf.broker] == ["kafka://kafka-1:9092", "kafka://kafka-2:9092"]
    # Faust annotates this setting as the enum class, not a member of it.
    guarantee: object = app.conf.processing_guarantee
    assert guarantee is ProcessingGuarantee.EXACTLY_ONCE
    assert app.conf.topic_replication_factor == 3
    assert app.conf.web_port == 7070
    assert str(app.conf.store) == "memory:"


def test_a_worker_without_kafka_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)

    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        create_app(WorkerSettings(), replication_factor=1)
