"""A codec whose wire format the hand writers cannot follow, for their fallback tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.codec import Codec
from schemas.history import released_schemas
from schemas.loader import load_schemas
from schemas.wire import SingleObjectEncoding


class _Trailer(SingleObjectEncoding):
    """A wire format that writes something after the body: not one a writer can follow."""

    def frame(self, schema_ref: bytes, body: bytes) -> bytes:
        return super().frame(schema_ref, body) + b"!"

    def split(self, message: bytes) -> tuple[bytes, memoryview]:
        return super().split(message[:-1])


def trailing_codec() -> Codec:
    """The contract's codec, but every message ends with a byte after its body."""
    released: list[Mapping[str, Any]] = list(released_schemas())
    return Codec(load_schemas(), released=released, wire=_Trailer())
