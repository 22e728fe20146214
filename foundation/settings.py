"""Settings every deployable shares: how to reach Kafka and how topics are named."""

from __future__ import annotations

import re
from typing import Final, TypeVar

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from foundation.exceptions import ConfigurationError

#: The topic prefix of a deployment that sets none.
DEFAULT_PREFIX: Final = "clever-stream"
# Kafka's legal topic characters, without "_": Kafka warns that "." and "_" collide in
# metric names, and our convention uses ".".
_PREFIX_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$")


def validate_prefix(prefix: str) -> str:
    """``prefix`` if it makes legal topic names, else ValueError."""
    if not _PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            f"topic prefix {prefix!r} must be 1-200 letters, digits, '.' or '-', "
            "starting with a letter or digit"
        )
    return prefix


class KafkaSettings(BaseSettings):
    """How a deployable reaches Kafka and names its topics.

    These fields keep one environment name across every deployable (no per-service prefix),
    so one ``KAFKA_BOOTSTRAP_SERVERS`` configures the poller, the workers and the CLI alike.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka's host:port list; unset, the demo starts a local broker.",
    )
    topic_prefix: str = Field(
        default=DEFAULT_PREFIX,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_PREFIX"),
        description="First part of every topic name, so deployments can share a cluster.",
    )
    topic_partitions: int = Field(
        default=6,
        ge=1,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_PARTITIONS"),
        description="Partitions of the pipeline's topics when they are created.",
    )
    topic_replication_factor: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("CLEVER_STREAM_TOPIC_REPLICATION_FACTOR"),
        description="Replicas of each created topic; unset: 3, or the cluster's broker count.",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _legal_prefix(cls, prefix: str) -> str:
        return validate_prefix(prefix)


S = TypeVar("S", bound=BaseSettings)


def read_settings(settings_class: type[S], *, what: str) -> S:
    """``settings_class()`` read from the environment; a mistake is a ``ConfigurationError``
    naming each variable at fault and why, never its value (it may hold a token) and never a
    traceback. ``what`` names the deployable in the message ("the worker")."""
    try:
        return settings_class()
    except ValidationError as error:
        problems = [
            f"{_variable(settings_class, problem['loc'])}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        ]
    except SettingsError as error:
        # "error parsing value for field "districts" from source ...": the JSON is broken.
        field = str(error).split('"')[1] if str(error).count('"') >= 2 else ""
        problems = [f"{_variable(settings_class, (field,))}: not valid JSON"]
    raise ConfigurationError(
        f"{what}'s settings are invalid: {'; '.join(problems)}",
        hint="compare the variables named with .env.example, which documents each",
    )


def _variable(settings_class: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    """The environment variable of the field at ``loc`` (its first part), or the path."""
    if not loc:
        return "settings"
    field = settings_class.model_fields.get(str(loc[0]))
    if field is None:
        return ".".join(str(part) for part in loc)
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        name = alias.choices[0]
    elif isinstance(alias, str):
        name = alias
    else:
        name = f"{settings_class.model_config.get('env_prefix', '')}{loc[0]}"
    rest = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    return name.upper() + rest
