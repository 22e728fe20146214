"""The query views' bearer token: how it is compared, and where it is read from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foundation.exceptions import ConfigurationError
from streams.settings import WorkerSettings
from streams.views import authorized

TOKEN = "t0ken"  # noqa: S105 - a test's own
ENV_TOKEN = "from-env"  # noqa: S105 - as above


def test_a_bearer_token_is_compared_whole_and_is_optional() -> None:
    assert authorized(None, None)
    assert authorized("anything", None)
    assert authorized("Bearer t0ken", "t0ken")
    assert not authorized(None, "t0ken")
    assert not authorized("Bearer t0ke", "t0ken")
    assert not authorized("Bearer t0ken ", "t0ken")
    assert not authorized("t0ken", "t0ken")


def test_the_views_token_comes_from_its_file_and_an_empty_file_is_refused(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-the-file\n")

    def settings(**values: Any) -> WorkerSettings:
        return WorkerSettings(KAFKA_BOOTSTRAP_SERVERS="kafka:9092", data_dir=tmp_path, **values)

    from_file = settings(views_token=ENV_TOKEN, views_token_file=token_file).views_bearer_token()
    from_env = settings(views_token=ENV_TOKEN).views_bearer_token()
    token_file.write_text("  \n")
    empty = settings(views_token_file=token_file)

    assert from_file == "from-the-file"
    assert from_env == ENV_TOKEN
    assert settings().views_bearer_token() is None
    with pytest.raises(ConfigurationError, match="is empty"):
        empty.views_bearer_token()
