"""``clever-stream districts``: add, remove and list the districts the pollers poll.

A district added here goes to the compacted districts topic as a ``DistrictRegistration``,
its token encrypted under ``CLEVER_POLLER_DISTRICTS_KEY``; a removal writes a tombstone.
Every poller follows the topic (``connectors/registry.py``): it starts polling an added
district and stops polling a removed one, whose cursor stays, so adding it again carries on
where it stopped. Nothing here prints or logs a token: a token is named by its fingerprint.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import typer
from aiokafka import AIOKafkaProducer

from clever_stream.settings import CliSettings
from connectors.client import CleverClient
from connectors.district_sources import DistrictSource, decode_registration, merge_districts
from connectors.district_tokens import KEY_VARIABLE, TokenCipher, check_token, fingerprint
from connectors.exceptions import CleverApiError, DistrictKeyError
from connectors.http import HttpOptions, new_http_client
from connectors.retry import RetryPolicy
from connectors.settings import ApiVersion, DistrictConfig
from foundation.clock import utc_now
from foundation.connection import KafkaConnection
from foundation.exceptions import ConfigurationError
from foundation.kafka_errors import kafka_errors
from foundation.reading import read_latest
from schemas.codec import Codec, default_codec
from schemas.exceptions import DecodeError
from schemas.keys import district_key
from schemas.provision import ensure_pipeline_topics
from schemas.records import DistrictRegistration
from schemas.topics import POLLER_DISTRICTS

#: Asking Clever which district a token opens: a few quick attempts, not a poller's patience.
_ASK_CLEVER = RetryPolicy(max_attempts=3, initial_backoff_s=0.5, max_backoff_s=2.0)


@dataclass(frozen=True)
class ListedDistrict:
    """One district as ``districts list`` shows it: never its token."""

    key: str
    api_version: str
    source: DistrictSource
    added_at: datetime | None
    #: The token's fingerprint; None when it cannot be read (no key, or another key).
    token_fingerprint: str | None
    #: Why the pollers do not poll it as listed, if they do not; else empty.
    note: str = ""

    def as_json(self) -> dict[str, object]:
        """The district as JSON values."""
        return {
            "district": self.key,
            "api_version": self.api_version,
            "source": str(self.source),
            "added_at": self.added_at.isoformat() if self.added_at else None,
            "token_fingerprint": self.token_fingerprint,
            "note": self.note or None,
        }


def cipher_of(settings: CliSettings) -> TokenCipher:
    """The cipher of the districts topic's tokens; a ``ConfigurationError`` without a key."""
    if settings.districts_key is None:
        raise ConfigurationError(
            f"{KEY_VARIABLE} is unset: the districts topic's tokens are encrypted with it",
            hint="run `clever-stream districts key` once per deployment, keep what it prints "
            f"as a secret, and set {KEY_VARIABLE} to it for the CLI and every poller",
        )
    return TokenCipher(settings.districts_key)


async def district_of_token(http: httpx.AsyncClient, *, token: str, api_version: str) -> str:
    """The ID of the one district ``token`` opens, asked of Clever (``GET /districts``)."""
    client = CleverClient(http, token=token, api_version=api_version, retry=_ASK_CLEVER)
    try:
        district = await client.district()
    except httpx.HTTPError as error:
        raise CleverApiError(
            f"could not ask Clever at {http.base_url} which district the token opens: "
            f"{type(error).__name__}",
            hint="check CLEVER_POLLER_BASE_URL and the network, or pass --district-id",
        ) from None
    district_id = district.get("id")
    if not isinstance(district_id, str) or not district_id:
        raise CleverApiError(
            "Clever named no district for the token",
            hint="pass --district-id, or check that it is a district-app token",
        )
    return district_id


async def add_district(
    kafka: KafkaConnection,
    settings: CliSettings,
    *,
    token: str,
    district_id: str | None,
    api_version: ApiVersion,
    codec: Codec,
    now: datetime,
    http: httpx.AsyncClient,
) -> DistrictRegistration:
    """Register a district with its token encrypted (asking Clever for its ID if not
    given); the registration written."""
    cipher = cipher_of(settings)
    check_token(token)
    if district_id is None:
        district_id = await district_of_token(http, token=token, api_version=api_version)
    registration = DistrictRegistration(
        district_id=district_id,
        api_version=api_version,
        token_ciphertext=cipher.encrypt(token),
        added_at=now,
    )
    with kafka_errors("register a district", kafka):
        await ensure_pipeline_topics(kafka, settings, timeout_s=settings.kafka_timeout_s)
        await _write(kafka, settings, district_id, codec.encode(registration))
    return registration


async def register_district(
    kafka: KafkaConnection,
    settings: CliSettings,
    *,
    token: str,
    district_id: str | None,
    api_version: ApiVersion,
) -> DistrictRegistration:
    """``add_district`` now, asking Clever at ``CLEVER_POLLER_BASE_URL`` if need be."""
    try:
        options = HttpOptions(base_url=settings.clever_base_url)
    except ValueError as error:
        raise ConfigurationError(
            f"CLEVER_POLLER_BASE_URL: {error}", hint="set it to Clever's API root, https://..."
        ) from None
    async with new_http_client(options) as http:
        return await add_district(
            kafka,
            settings,
            token=token,
            district_id=district_id,
            api_version=api_version,
            codec=default_codec(),
            now=utc_now(),
            http=http,
        )


def read_token(token_file: Path | None) -> str:
    """The token from ``token_file``, or from stdin (asked for, hidden, at a terminal): never
    from the command line, which ``ps`` shows to every user."""
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(
                f"cannot read the token file {token_file}: "
                f"{getattr(error, 'strerror', None) or type(error).__name__}",
                hint="pass --token-file with a readable file that holds the token alone",
            ) from None
    if sys.stdin.isatty():
        return str(typer.prompt("District-app token", hide_input=True)).strip()
    return sys.stdin.read().strip()


async def remove_district(
    kafka: KafkaConnection, settings: CliSettings, *, district_id: str, codec: Codec
) -> DistrictRegistration:
    """Remove a district from the districts topic (a tombstone); the registration removed."""
    topic = POLLER_DISTRICTS.name(settings.topic_prefix)
    with kafka_errors("remove a district", kafka):
        registered = await read_registrations(kafka, topic=topic, codec=codec)
        found = registered.get(district_id)
        if found is None:
            raise ConfigurationError(
                f"district {district_id} is not on the districts topic {topic}",
                hint="clever-stream districts list shows the districts; one from "
                "CLEVER_POLLER_DISTRICTS or its file is removed there",
            )
        await _write(kafka, settings, district_id, None)
    return found


async def read_registrations(
    kafka: KafkaConnection, *, topic: str, codec: Codec
) -> dict[str, DistrictRegistration]:
    """The districts topic as it stands: each district's registration (none if no topic)."""
    registered: dict[str, DistrictRegistration] = {}
    for key, value in (await read_latest(kafka, topic)).items():
        try:
            district_id, registration = decode_registration(key, value, codec)
        except DecodeError:
            continue  # the pollers skip it too, and log it
        if registration is not None:
            registered[district_id] = registration
    return registered


async def list_districts(
    kafka: KafkaConnection,
    settings: CliSettings,
    *,
    env: Sequence[DistrictConfig],
    file: Sequence[DistrictConfig],
    codec: Codec,
) -> list[ListedDistrict]:
    """Every district of the three sources: the environment's and the file's (as this
    command's environment sets them) and the districts topic's, strongest first."""
    topic = POLLER_DISTRICTS.name(settings.topic_prefix)
    with kafka_errors("read the districts", kafka):
        registered = await read_registrations(kafka, topic=topic, codec=codec)
    cipher = TokenCipher(settings.districts_key) if settings.districts_key else None
    merged = merge_districts(env, file, {})
    listed = [
        ListedDistrict(
            key=key,
            api_version=config.api_version,
            source=merged.sources[key],
            added_at=None,
            token_fingerprint=fingerprint(config.token.get_secret_value()),
        )
        for key, config in merged.districts.items()
    ]
    for district_id, registration in sorted(registered.items()):
        note = ""
        token_fingerprint = None
        if cipher is None:
            note = f"{KEY_VARIABLE} unset here: token not checked"
        else:
            try:
                token_fingerprint = fingerprint(cipher.decrypt(registration.token_ciphertext))
            except DistrictKeyError:
                note = "encrypted with another key: the pollers skip it"
        if district_id in merged.districts:
            note = f"shadowed by the {merged.sources[district_id]} entry"
        listed.append(
            ListedDistrict(
                key=district_id,
                api_version=registration.api_version,
                source=DistrictSource.TOPIC,
                added_at=registration.added_at,
                token_fingerprint=token_fingerprint,
                note=note,
            )
        )
    return listed


def listing_lines(districts: Sequence[ListedDistrict]) -> list[str]:
    """``districts list`` as text: one line per district, then a count."""
    lines = []
    for district in districts:
        added = f"{district.added_at:%Y-%m-%d %H:%M:%S}" if district.added_at else "-"
        token = district.token_fingerprint or "-"
        note = f"  ({district.note})" if district.note else ""
        lines.append(
            f"{district.key}  {district.api_version}  added {added}  from {district.source}  "
            f"token {token}{note}"
        )
    count = len(districts)
    lines.append(f"{count} district{'' if count == 1 else 's'}")
    return lines


async def _write(
    kafka: KafkaConnection, settings: CliSettings, district_id: str, value: bytes | None
) -> None:
    """One record on the districts topic, idempotent and acknowledged by every replica."""
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(
            POLLER_DISTRICTS.name(settings.topic_prefix),
            key=district_key(district_id),
            value=value,
        )
    finally:
        await producer.stop()
