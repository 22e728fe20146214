"""The value sets of Clever's contact fields, with the messiness SIS data really has.

Clever documents the clean values (seeds/002: contact type Primary, Secondary,
Parent/Guardian, Emergency, Family, Other; relationship Parent, Grandparent, Self, Aunt/Uncle,
Sibling, Other; 10- or 11-digit phones; phone type Cell, Home, Work, Other) and warns that it
does not normalise them (seeds/000): relationship is often missing, ``type`` may hold a
relationship word, some SISes write lowercase ``other`` or ``guardian``, phones come with and
without punctuation. The weights below give a district of a few hundred contacts all of that.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Marks a key that the SIS left out entirely (absent, not null).
MISSING = "\0missing"

RELATIONSHIPS = ("Parent", "Grandparent", "Self", "Aunt/Uncle", "Sibling", "Other")
CONTACT_TYPES = ("Primary", "Secondary", "Parent/Guardian", "Emergency", "Family", "Other")
PHONE_TYPES = ("Cell", "Home", "Work", "Other")

_RELATIONSHIP_TYPE: tuple[tuple[tuple[str | None, str | None], int], ...] = (
    (("Parent", "Parent/Guardian"), 40),
    (("Parent", "Primary"), 8),
    (("Parent", "Secondary"), 5),
    (("Grandparent", "Family"), 6),
    (("Grandparent", "Emergency"), 4),
    (("Aunt/Uncle", "Family"), 4),
    (("Aunt/Uncle", "Emergency"), 3),
    (("Sibling", "Emergency"), 3),
    (("Self", "Other"), 1),
    (("Other", "Emergency"), 4),
    (("Other", "Other"), 2),
    (("", "Grandparent"), 3),  # type holding a relationship word
    (("", "Parent"), 2),
    ((None, "Emergency"), 3),  # null relationship
    ((MISSING, "Parent/Guardian"), 3),  # no relationship key at all
    (("", "other"), 3),  # Infinite Campus: type always "other"
    (("", "guardian"), 2),  # Tyler / Aeries default "guardian"
    (("Parent", "guardian"), 2),
    (("other", "emergency"), 1),
    (("Parent", ""), 2),
    ((None, None), 1),
    (("Grandparent", MISSING), 1),
)


def _table(pairs: Sequence[tuple[_T, int]]) -> tuple[tuple[_T, ...], list[int]]:
    return tuple(value for value, _ in pairs), list(accumulate(weight for _, weight in pairs))


def below(rng: random.Random, count: int) -> int:
    """A uniform integer in ``[0, count)``: ``random()`` is ten times cheaper than ``randrange``
    and exact enough for test data (the hot path of a 10,000-record page)."""
    return int(rng.random() * count)


def pick(rng: random.Random, values: Sequence[_T]) -> _T:
    """A uniform element of ``values``."""
    return values[int(rng.random() * len(values))]


def _weighted(rng: random.Random, values: Sequence[_T], cum_weights: list[int]) -> _T:
    return values[bisect_right(cum_weights, rng.random() * cum_weights[-1])]


_REL_VALUES, _REL_WEIGHTS = _table(_RELATIONSHIP_TYPE)
_PHONE_TYPE_VALUES, _PHONE_TYPE_WEIGHTS = _table(
    [("Cell", 35), ("Home", 20), ("Work", 10), ("Other", 10), ("", 15), (None, 5), ("cell", 5)]
)
_SIS_ID_VALUES, _SIS_ID_WEIGHTS = _table([("id", 50), ("", 20), (None, 15), (MISSING, 15)])

FIRST_NAMES = (
    "Aaron", "Maria", "James", "Linh", "Fatima", "Noah", "Olivia", "Mateo", "Aisha", "Liam",
    "Sofia", "Ethan", "Mei", "Lucas", "Zara", "Diego", "Grace", "Omar", "Hana", "Kofi",
)  # fmt: skip
LAST_NAMES = (
    "Collins", "Garcia", "Nguyen", "Okafor", "Smith", "Kowalski", "Haddad", "Johnson",
    "O'Brien", "Tanaka", "Silva", "Müller", "Patel", "Brown", "Ivanova", "Mensah",
)  # fmt: skip


def pick_relationship(rng: random.Random) -> tuple[str | None, str | None]:
    """A raw (relationship, type) pair as an SIS sends it; MISSING means the key is absent."""
    return _weighted(rng, _REL_VALUES, _REL_WEIGHTS)


def pick_phone(rng: random.Random) -> str | None:
    """A 10- or 11-digit phone, punctuated the way some SISes do it, or nothing."""
    area, exchange = 201 + below(rng, 789), 200 + below(rng, 800)
    line, style = below(rng, 10_000), below(rng, 20)
    digits = f"{area}{exchange}{line:04d}"
    if style < 8:
        return digits
    if style < 11:
        return f"1-({area}) {exchange}-{line:04d}"
    if style < 14:
        return f"({area}) {exchange}-{line:04d}"
    if style < 16:
        return f"{area}-{exchange}-{line:04d}"
    if style < 17:
        return f"1{digits}"
    if style < 18:
        return f"{area}.{exchange}.{line:04d}"
    return None if style < 19 else ""


def pick_phone_type(rng: random.Random) -> str | None:
    """Cell, Home, Work, Other, "", null, or a lowercase variant."""
    return _weighted(rng, _PHONE_TYPE_VALUES, _PHONE_TYPE_WEIGHTS)


def pick_sis_id(rng: random.Random, index: int) -> str | None:
    """A contact's sis_id: a real one, "", null, or MISSING (no key)."""
    kind = _weighted(rng, _SIS_ID_VALUES, _SIS_ID_WEIGHTS)
    return f"C{index + 100_000:07d}" if kind == "id" else kind


def contact_name(rng: random.Random) -> dict[str, Any]:
    """Clever puts a contact's full name in ``name.last``; a few SISes split it."""
    first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
    if rng.random() < 0.9:
        return {"last": f"{first} {last}"}
    return {"first": first, "middle": None, "last": last}


def contact_email(rng: random.Random, name: dict[str, Any], index: int) -> str | None:
    """An address in the usual format, or nothing (null or "")."""
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.3:
        return ""
    local = ".".join(str(name.get(part) or "") for part in ("first", "last")).strip(".")
    local = "".join(ch for ch in local.lower() if ch.isascii() and (ch.isalnum() or ch == "."))
    return f"{local or 'contact'}{index}@example.com"


def full_name(name: dict[str, Any]) -> str:
    """The one-string name of a v2.1 contact."""
    return " ".join(str(name[part]) for part in ("first", "middle", "last") if name.get(part))
