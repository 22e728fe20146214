"""District tokens at rest: encrypted under the districts key, named by a fingerprint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connectors.district_sources import decode_registration, district_config
from connectors.district_tokens import TokenCipher, check_token, fingerprint, new_key
from connectors.exceptions import DistrictKeyError
from foundation.exceptions import ConfigurationError
from schemas.codec import default_codec
from schemas.exceptions import DecodeError
from schemas.keys import district_key
from schemas.records import DistrictRegistration

TOKEN = "tok-district-secret-42"  # noqa: S105 - a made-up token no output may show


def registration(cipher: TokenCipher, *, api_version: str = "v3.1") -> DistrictRegistration:
    return DistrictRegistration(
        district_id="d1",
        api_version=api_version,
        token_ciphertext=cipher.encrypt(TOKEN),
        added_at=datetime(2025, 1, 2, tzinfo=UTC),
    )


def test_a_token_round_trips_and_is_not_in_its_ciphertext() -> None:
    cipher = TokenCipher(SecretStr(new_key()))

    ciphertext = cipher.encrypt(TOKEN)

    assert TOKEN.encode() not in ciphertext
    assert cipher.decrypt(ciphertext) == TOKEN
    assert cipher.encrypt(TOKEN) != ciphertext  # a fresh IV each time


def test_another_key_cannot_decrypt_and_says_so_without_the_token() -> None:
    ciphertext = TokenCipher(SecretStr(new_key())).encrypt(TOKEN)

    with pytest.raises(DistrictKeyError, match="another key") as raised:
        TokenCipher(SecretStr(new_key())).decrypt(ciphertext)
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None


@pytest.mark.parametrize("key", ["", "not-a-key", "x" * 44], ids=["empty", "short", "not-b64"])
def test_a_key_that_is_not_one_is_a_configuration_error(key: str) -> None:
    with pytest.raises(ConfigurationError, match="CLEVER_POLLER_DISTRICTS_KEY") as raised:
        TokenCipher(SecretStr(key))
    assert "districts key" in str(raised.value)


def test_a_cipher_does_not_show_its_key() -> None:
    key = new_key()

    assert key not in repr(TokenCipher(SecretStr(key)))


def test_a_fingerprint_is_short_stable_and_tells_tokens_apart() -> None:
    assert fingerprint(TOKEN) == fingerprint(TOKEN)
    assert len(fingerprint(TOKEN)) == 8
    assert int(fingerprint(TOKEN), 16) >= 0
    assert fingerprint(TOKEN) != fingerprint(TOKEN + "x")


@pytest.mark.parametrize("token", ["", "two words", "tab\there", "ünï"])
def test_a_token_no_header_can_carry_is_refused_without_quoting_it(token: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_token(token)
    assert not token or token not in str(raised.value)


def test_a_registration_decodes_into_the_district_it_adds() -> None:
    cipher = TokenCipher(SecretStr(new_key()))
    codec = default_codec()
    value = codec.encode(registration(cipher))

    district_id, decoded = decode_registration(district_key("d1"), value, codec)

    assert district_id == "d1"
    assert decoded is not None
    config = district_config(decoded, cipher)
    assert (config.district_id, config.api_version) == ("d1", "v3.1")
    assert config.token.get_secret_value() == TOKEN
    assert decode_registration(district_key("d1"), None, codec) == ("d1", None)


def test_a_registration_under_another_key_or_version_is_refused_without_the_token() -> None:
    cipher = TokenCipher(SecretStr(new_key()))

    with pytest.raises(DistrictKeyError):
        district_config(registration(cipher), TokenCipher(SecretStr(new_key())))
    with pytest.raises(ConfigurationError, match="v9") as raised:
        district_config(registration(cipher, api_version="v9"), cipher)
    assert TOKEN not in str(raised.value)


def test_a_registration_keyed_as_another_district_is_not_one() -> None:
    codec = default_codec()
    value = codec.encode(registration(TokenCipher(SecretStr(new_key()))))

    with pytest.raises(DecodeError, match="keyed d2"):
        decode_registration(district_key("d2"), value, codec)
