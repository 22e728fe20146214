"""The districts to poll, merged from their three sources; and the districts topic's records.

A poller's districts come from ``CLEVER_POLLER_DISTRICTS`` (the environment), the districts
file and the compacted districts topic (``clever-stream districts add``). When one district
ID comes from several, the environment wins over the file and the file over the topic. An
entry without a district ID (the environment or the file only: its token's district is asked
of Clever) goes under ``#<n>``, ``n`` its index in environment-then-file order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import ValidationError

from connectors.district_tokens import TokenCipher
from connectors.settings import DistrictConfig
from foundation.exceptions import ConfigurationError
from schemas.codec import Codec
from schemas.exceptions import DecodeError
from schemas.keys import parse_district_key
from schemas.records import DistrictRegistration


class DistrictSource(StrEnum):
    """Where a district to poll comes from, strongest first."""

    ENV = "env"
    FILE = "file"
    TOPIC = "topic"


@dataclass(frozen=True)
class MergedDistricts:
    """Every district to poll by key (district ID, or ``#<n>``), where each came from, and
    the district IDs that more than one entry gave (the strongest entry kept)."""

    districts: dict[str, DistrictConfig] = field(default_factory=dict)
    sources: dict[str, DistrictSource] = field(default_factory=dict)
    shadowed: frozenset[str] = frozenset()


def merge_districts(
    env: Sequence[DistrictConfig],
    file: Sequence[DistrictConfig],
    topic: Mapping[str, DistrictConfig],
) -> MergedDistricts:
    """The districts of the three sources merged: environment over file over topic."""
    districts: dict[str, DistrictConfig] = {}
    sources: dict[str, DistrictSource] = {}
    shadowed: set[str] = set()
    configured = [(config, DistrictSource.ENV) for config in env]
    configured += [(config, DistrictSource.FILE) for config in file]
    for index, (config, source) in enumerate(configured):
        key = config.district_id or f"#{index}"
        if key in districts:
            shadowed.add(key)
            continue
        districts[key] = config
        sources[key] = source
    for district_id, config in topic.items():
        if district_id in districts:
            shadowed.add(district_id)
            continue
        districts[district_id] = config
        sources[district_id] = DistrictSource.TOPIC
    return MergedDistricts(districts, sources, frozenset(shadowed))


def decode_registration(
    key: bytes | None, value: bytes | None, codec: Codec
) -> tuple[str, DistrictRegistration | None]:
    """The district ID of a districts-topic record and its registration (None: a tombstone);
    ``DecodeError`` if it is not one, or its key and value name different districts."""
    district_id = parse_district_key(key)
    if value is None:
        return district_id, None
    registration = codec.decode(value, DistrictRegistration)
    if registration.district_id != district_id:
        raise DecodeError(
            f"a registration of district {registration.district_id} is keyed {district_id}"
        )
    return district_id, registration


def district_config(registration: DistrictRegistration, cipher: TokenCipher) -> DistrictConfig:
    """The district a registration adds, its token decrypted; ``DistrictKeyError`` with
    another key, ``ConfigurationError`` for an API version the poller does not know."""
    token = cipher.decrypt(registration.token_ciphertext)
    try:
        return DistrictConfig.model_validate(
            {
                "token": token,
                "district_id": registration.district_id,
                "api_version": registration.api_version,
            }
        )
    except ValidationError:
        # pydantic's message may quote the input, token included.
        raise ConfigurationError(
            f"district {registration.district_id} is registered with API version "
            f"{registration.api_version!r}, which the poller does not know",
            hint="add it again with --api-version v3.0, v3.1 or v2.1",
        ) from None
