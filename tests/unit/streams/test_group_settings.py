"""The worker's group settings: a static member ID for both engines, and a session that
does not outlast the requests that wait on it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from foundation.settings import read_settings
from streams.engines.faust.app import create_app
from streams.settings import WorkerSettings


def test_a_session_longer_than_a_request_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLEVER_WORKER_SESSION_TIMEOUT_S", "240")

    with pytest.raises(ConfigurationError) as caught:
        read_settings(WorkerSettings, what="the worker")

    assert "CLEVER_WORKER_BROKER_REQUEST_TIMEOUT_S" in str(caught.value)
    assert WorkerSettings(session_timeout_s=240, broker_request_timeout_s=250)


def test_the_instance_id_is_faust_s_group_instance_id_too() -> None:
    settings = WorkerSettings(instance_id="worker-0")

    app = create_app(settings, kafka=KafkaConnection("kafka:9092"), replication_factor=1)

    assert app.conf.consumer_group_instance_id == "worker-0"
    assert WorkerSettings().instance_id is None  # dynamic membership by default
    with pytest.raises(ValidationError):
        WorkerSettings(instance_id="")
