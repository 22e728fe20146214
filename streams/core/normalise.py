"""Clever's relationship, type and phone_type text as contract values: SIS mess in, never raising.

Clever does not normalise contact fields (seeds/000: "be extra tolerant of unusual formatting as
Clever does not normalize all data from these fields"), so every rule here is lenient and
keeps the text exactly as sent beside the symbol it chose. Any JSON value may arrive where a
string belongs; none of these functions raises on any of them.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Final

from schemas.records import Privilege
from schemas.values import ContactType, PhoneType, Relationship

_SPACES_AROUND_SLASH: Final = re.compile(r"\s*/\s*")

#: SIS spellings of ``type`` outside Clever's value set, and the symbol each one means.
_TYPE_ALIASES: Final[dict[str, ContactType]] = {
    # seeds/000, Tyler SIS primary contacts: type "legal_guardian (default: guardian)";
    # also the Contact Custodial Status default "guardian" of the last SIS table there.
    "guardian": ContactType.PARENT_GUARDIAN,
    "legal guardian": ContactType.PARENT_GUARDIAN,
    # seeds/000, Tyler SIS emergency contacts: type "emergency_contact (default emergency)".
    "emergency contact": ContactType.EMERGENCY,
}

#: Relationship symbols that carry information (the two others say there is none to use).
_KNOWN_RELATIONSHIPS: Final = frozenset(Relationship) - {
    Relationship.UNSPECIFIED,
    Relationship.UNRECOGNIZED,
}
_KNOWN_CONTACT_TYPES: Final = frozenset(ContactType) - {
    ContactType.UNSPECIFIED,
    ContactType.UNRECOGNIZED,
}


def raw_text(value: object) -> str | None:
    """Clever's value as text, exactly as sent: a string unchanged, null (or missing) as None,
    any other JSON value (number, boolean, list, object) as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        # Not JSON at all (a caller's own object): its repr still says what it was.
        return repr(value)


def _key(text: str) -> str:
    """The lookup form of SIS text: case, runs of spaces, ``_`` and spaces around ``/`` ignored."""
    return _SPACES_AROUND_SLASH.sub("/", " ".join(text.replace("_", " ").split())).casefold()


def _relationship(value: object) -> Relationship:
    if value is None:
        return Relationship.UNSPECIFIED
    if not isinstance(value, str):
        return Relationship.UNRECOGNIZED
    return Relationship.from_clever(_key(value))


def _contact_type(value: object) -> ContactType:
    if value is None:
        return ContactType.UNSPECIFIED
    if not isinstance(value, str):
        return ContactType.UNRECOGNIZED
    key = _key(value)
    return _TYPE_ALIASES.get(key) or ContactType.from_clever(key)


def privilege_of(relationship_raw: object, type_raw: object) -> Privilege:
    """The privilege one relationship entry (or v2.1 contact) gives, from its raw fields.

    Rules, applied to text with case, runs of whitespace, ``_`` and spaces around ``/``
    ignored (``" Aunt / Uncle "`` is ``Aunt/Uncle``, ``legal_guardian`` is ``legal guardian``):

    ================================  ==================================  ===================
    raw value                         becomes                             source
    ================================  ==================================  ===================
    null, missing, ``""``, blanks     UNSPECIFIED (raw: None / as sent)   API_FACTS §4, §7.7
    Clever's relationship set         that Relationship                   seeds/002, §3
    Clever's type set                 that ContactType (``other`` too)    seeds/002, §3
    type ``guardian``                 PARENT_GUARDIAN                     seeds/000 Tyler,
                                                                          custodial default
    type ``legal_guardian``           PARENT_GUARDIAN                     seeds/000 Tyler
    type ``emergency_contact``        EMERGENCY                           seeds/000 Tyler
    type ``emergency``                EMERGENCY (Clever's own value)      seeds/000 Tyler
    type holding a relationship word  type UNSPECIFIED; the word becomes  seeds/000, 001
    (parent, grandparent, self,       the relationship if that field is   "contact_type
    aunt/uncle, sibling)              blank, else the field wins          containing ..."
    any other text                    UNRECOGNIZED, raw kept              API_FACTS §6
    number, boolean, list, object     UNRECOGNIZED, raw kept as JSON      (never crash)
    ================================  ==================================  ===================

    ``other`` in ``type`` stays ContactType.OTHER (Infinite Campus sends type "always other",
    seeds/000): it is a valid type, so it is not moved. Both raw texts are kept exactly as
    Clever sent them, whatever was moved.
    """
    if _is_text(relationship_raw) and _is_text(type_raw):
        return _privilege_of_text(relationship_raw, type_raw)
    return _privilege_of(relationship_raw, type_raw)


def _is_text(value: object) -> bool:
    """Whether ``value`` is null or exactly a string: a key the caches below can hold.

    Not a ``str`` subclass (which may hash like a string it is not), nor a number or a
    boolean (``1``, ``1.0`` and ``True`` are one key to a cache, but not one raw text).
    """
    return value is None or type(value) is str


@lru_cache(maxsize=4096)
def _privilege_of_text(relationship_raw: str | None, type_raw: str | None) -> Privilege:
    """``_privilege_of`` Clever's text, cached: a district sends the same few spellings on
    every contact, and a ``Privilege`` is frozen, so all of them can share one."""
    return _privilege_of(relationship_raw, type_raw)


def _privilege_of(relationship_raw: object, type_raw: object) -> Privilege:
    """``privilege_of``, worked out afresh."""
    relationship = _relationship(relationship_raw)
    contact_type = _contact_type(type_raw)
    if contact_type is ContactType.UNRECOGNIZED and isinstance(type_raw, str):
        word = Relationship.from_clever(_key(type_raw))
        if word in _KNOWN_RELATIONSHIPS:
            contact_type = ContactType.UNSPECIFIED
            if relationship is Relationship.UNSPECIFIED:
                relationship = word
    return Privilege(
        relationship=relationship,
        relationship_raw=raw_text(relationship_raw),
        contact_type=contact_type,
        contact_type_raw=raw_text(type_raw),
    )


def phone_type_of(value: object) -> tuple[PhoneType, str | None]:
    """The normalised ``phone_type`` and Clever's text for it (same leniency as above)."""
    if value is None:
        return PhoneType.UNSPECIFIED, None
    if not isinstance(value, str):
        return PhoneType.UNRECOGNIZED, raw_text(value)
    return _phone_type_of_text(value), value


@lru_cache(maxsize=1024)
def _phone_type_of_text(value: str) -> PhoneType:
    """The ``PhoneType`` of Clever's text, cached as ``_privilege_of_text`` is."""
    return PhoneType.from_clever(_key(value))


#: Symbols that say Clever's text names nothing we know: their text is all they carry.
_VAGUE: Final = frozenset(
    {
        Relationship.UNSPECIFIED,
        Relationship.UNRECOGNIZED,
        ContactType.UNSPECIFIED,
        ContactType.UNRECOGNIZED,
    }
)


def equivalent(first: Privilege, second: Privilege) -> bool:
    """Whether two privileges are the same once normalised: a change between them is cosmetic.

    The same relationship and contact-type symbols, and, where a symbol is ``UNSPECIFIED``
    or ``UNRECOGNIZED`` (so its text is all it says), the same text but for case,
    surrounding whitespace, and null versus ``""``. ``parent`` and ``Parent`` are
    equivalent, as are ``Aunt/Uncle`` and ``aunt / uncle`` (both AUNT_UNCLE); ``Step-dad``
    and ``Stepdad`` (both UNRECOGNIZED) are not. The rule of ``docs/topics.md``: only a
    change between privileges that are not equivalent is CHANGED.
    """
    if first.relationship is not second.relationship:
        return False
    if first.contact_type is not second.contact_type:
        return False
    if first.relationship in _VAGUE and _fold(first.relationship_raw) != _fold(
        second.relationship_raw
    ):
        return False
    return first.contact_type not in _VAGUE or _fold(first.contact_type_raw) == _fold(
        second.contact_type_raw
    )


def _fold(raw: str | None) -> str:
    """Clever's text as ``equivalent`` compares it: case and surrounding blanks ignored."""
    return (raw or "").strip().casefold()


def _specificity(privilege: Privilege) -> int:
    """2 per field with a known symbol, 1 per UNRECOGNIZED one (its raw text says something)."""
    relationship, contact_type = privilege.relationship, privilege.contact_type
    return _score(
        known=relationship in _KNOWN_RELATIONSHIPS,
        unrecognised=relationship is Relationship.UNRECOGNIZED,
    ) + _score(
        known=contact_type in _KNOWN_CONTACT_TYPES,
        unrecognised=contact_type is ContactType.UNRECOGNIZED,
    )


def _score(*, known: bool, unrecognised: bool) -> int:
    return 2 if known else int(unrecognised)


_CONTACT_TYPE_ORDER: Final = {symbol: index for index, symbol in enumerate(ContactType)}
_RELATIONSHIP_ORDER: Final = {symbol: index for index, symbol in enumerate(Relationship)}


def _rank(privilege: Privilege) -> tuple[int, int, int, bool, str, bool, str]:
    """Smaller ranks first; distinct privileges never rank equal, so the order is total."""
    return (
        -_specificity(privilege),
        _CONTACT_TYPE_ORDER[privilege.contact_type],
        _RELATIONSHIP_ORDER[privilege.relationship],
        privilege.contact_type_raw is None,
        privilege.contact_type_raw or "",
        privilege.relationship_raw is None,
        privilege.relationship_raw or "",
    )


def preferred(first: Privilege, second: Privilege) -> Privilege:
    """Which of two entries for the same student counts, when an SIS lists a student twice.

    The more specific one: a known relationship or type beats UNRECOGNIZED, which beats
    UNSPECIFIED (two points per known field, one per unrecognised one). Between equally
    specific entries, the contact type earlier in Clever's own enum order wins
    (Parent/Guardian, Emergency, Primary, Secondary, Family, Other), then the relationship
    likewise (Parent, Grandparent, Self, Aunt/Uncle, Sibling, Other), then the raw texts.
    The order is total, so the result never depends on the order of the entries.
    """
    return first if _rank(first) <= _rank(second) else second
