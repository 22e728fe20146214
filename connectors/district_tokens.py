"""District tokens at rest: encrypted with Fernet under ``CLEVER_POLLER_DISTRICTS_KEY``.

The districts topic carries each district's token encrypted (AES-128-CBC and HMAC-SHA256, as
Fernet defines them), so a reader of the topic without the key learns nothing of it. A
token is named in output by its fingerprint: the first 8 hex digits of its SHA-256, enough to
tell two tokens apart and to check one against a file, never enough to recover it.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from connectors.exceptions import DistrictKeyError
from foundation.exceptions import ConfigurationError

#: The one variable that holds the key, for the CLI and the pollers alike.
KEY_VARIABLE: Final = "CLEVER_POLLER_DISTRICTS_KEY"
#: Visible ASCII: what an HTTP Authorization header carries unmangled.
_TOKEN_CHARS: Final = re.compile(r"[!-~]+")


def new_key() -> str:
    """A new random key (32 bytes, URL-safe base64): made once per deployment, kept secret."""
    return Fernet.generate_key().decode("ascii")


def fingerprint(token: str) -> str:
    """A short name of ``token`` that does not reveal it: its SHA-256's first 8 hex digits."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


def check_token(token: str) -> str:
    """``token`` if an HTTP header can carry it, else a ``ConfigurationError`` (that never
    quotes it)."""
    if not _TOKEN_CHARS.fullmatch(token):
        raise ConfigurationError(
            "the token is empty or has characters an HTTP header cannot carry",
            hint="give the district-app token alone, on one line (--token-file or stdin)",
        )
    return token


class TokenCipher:
    """Encrypts and decrypts district tokens under one key."""

    def __init__(self, key: SecretStr) -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError, binascii.Error):
            raise ConfigurationError(
                f"{KEY_VARIABLE} is not a key of the districts topic",
                hint="set it to the key `clever-stream districts key` printed (44 characters "
                "of URL-safe base64), the same one for the CLI and every poller",
            ) from None

    def __repr__(self) -> str:
        return "TokenCipher(<key>)"

    def encrypt(self, token: str) -> bytes:
        """``token`` encrypted (a Fernet token: URL-safe base64 bytes)."""
        return self._fernet.encrypt(token.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        """The token in ``ciphertext``; ``DistrictKeyError`` if this key did not encrypt it
        (or it was altered)."""
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            raise DistrictKeyError(
                "a district's token was encrypted with another key",
                hint=f"set {KEY_VARIABLE} to the key the CLI used to add it, or add the "
                "district again with this one",
            ) from None
