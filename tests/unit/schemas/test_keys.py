"""Keys: district IDs and district/contact/student pairs as UTF-8 text."""

from __future__ import annotations

import pytest
from hypothesis import given

from schemas.exceptions import DecodeError
from schemas.keys import district_key, pair_key, parse_district_key, parse_pair_key
from tests.strategies import clever_ids


@given(district=clever_ids, contact=clever_ids, student=clever_ids)
def test_pair_keys_round_trip(district: str, contact: str, student: str) -> None:
    assert parse_pair_key(pair_key(district, contact, student)) == (district, contact, student)


def test_keys_are_readable_text() -> None:
    assert district_key("d1") == b"d1"
    assert pair_key("d1", "c2", "s3") == b"d1/c2/s3"


@pytest.mark.parametrize(
    "parts", [("", "c", "s"), ("d/x", "c", "s"), ("d", "c", "")], ids=["empty", "slash", "blank"]
)
def test_ids_that_would_make_an_ambiguous_key_are_refused(parts: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        pair_key(*parts)


@pytest.mark.parametrize(
    "key",
    [None, b"", b"\xff\xfe", b"d1/c2", b"d1//s3"],
    ids=["none", "empty", "binary", "two", "hole"],
)
def test_bad_pair_keys_are_decode_errors(key: bytes | None) -> None:
    with pytest.raises(DecodeError):
        parse_pair_key(key)


def test_a_district_key_is_its_text() -> None:
    assert parse_district_key(b"5940d2546a9ab5000184a3a7") == "5940d2546a9ab5000184a3a7"
