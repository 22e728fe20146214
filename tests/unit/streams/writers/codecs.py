"""What the hand writers' tests share: a codec whose wire format the writers cannot follow
(for their fallback tests), and the check that a writer refuses what the codec refuses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pytest

from schemas.codec import Codec
from schemas.exceptions import EncodeError
from schemas.history import released_schemas
from schemas.loader import load_schemas
from schemas.records import Message
from schemas.wire import SingleObjectEncoding

M = TypeVar("M", bound=Message)


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


def assert_refused_alike(codec: Codec, write: Callable[[M], bytes], record: M) -> None:
    """``write`` refuses ``record`` with the very error the codec raises for it."""
    with pytest.raises(EncodeError) as expected:
        codec.encode(record)
    with pytest.raises(EncodeError) as found:
        write(record)
    assert str(found.value) == str(expected.value)
