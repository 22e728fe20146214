"""The grants table's JSON values written by hand: exactly ``encode_grants``'s bytes.

Why not ``encode_grants``: ``json.dumps`` with options builds a new encoder on every call,
and a contact's grants are written at every commit that changed one of its pairs. Their
JSON is a fixed frame around a few strings, so here it is joined from the strings quoted by
the JSON module's own quoting function, with the grant time's text kept (every grant of a
raw record holds the same ``now``).

The bytes are changelog records and RocksDB values that a restore reads back, so they must
be ``encode_grants``'s, byte for byte. ``GrantsWriter`` checks that first on probe values
(escapes, non-ASCII, offsets, no grant, several) and writes nothing itself unless every one
matches; a value of a type it does not expect goes to ``encode_grants``, which then writes
it or raises exactly as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from json.encoder import encode_basestring
from typing import Final

from streams.processor.encoding import encode_grants
from streams.processor.store import ContactGrants, PairGrant


def _quoted(value: str) -> str:
    """A JSON string, as ``json.dumps(..., ensure_ascii=False)`` writes it."""
    if type(value) is not str:
        raise TypeError("not text")
    return encode_basestring(value)


_NULL: Final = "null"


class GrantsWriter:
    """``encode_grants``, faster, same bytes."""

    def __init__(self) -> None:
        #: The last grant time written, by identity, and its quoted ISO text.
        self._last_time: tuple[datetime | None, str] = (None, "")
        self._writes_itself = all(self._json(probe) == encode_grants(probe) for probe in _probes())

    @property
    def writes_itself(self) -> bool:
        """Whether the probes matched, so that this writer (not ``encode_grants``) writes."""
        return self._writes_itself

    def grants(self, grants: ContactGrants) -> bytes:
        """``encode_grants(grants)``."""
        if self._writes_itself:
            try:
                return self._json(grants)
            except Exception:  # noqa: S110 - anything unexpected: encode_grants writes, or raises
                pass
        return encode_grants(grants)

    def _json(self, grants: ContactGrants) -> bytes:
        if type(grants) is not ContactGrants or type(grants.grants) is not tuple:
            raise TypeError("not ContactGrants")
        items = []
        for grant in grants.grants:
            if type(grant) is not PairGrant:
                raise TypeError("not a PairGrant")
            reissued = grant.reissued_from_contact_id
            items.append(
                f"[{_quoted(grant.student_id)},{self._time(grant.granted_at)},"
                f"{_NULL if reissued is None else _quoted(reissued)},"
                f"{_quoted(grant.last_change_id)}]"
            )
        document = (
            f'{{"format":1,"district_id":{_quoted(grants.district_id)},'
            f'"contact_id":{_quoted(grants.contact_id)},"grants":[{",".join(items)}]}}'
        )
        return document.encode("utf-8")

    def _time(self, moment: datetime) -> str:
        last, written = self._last_time
        if moment is last:
            return written
        if type(moment) is not datetime:
            raise TypeError("not a datetime")
        found = _quoted(moment.isoformat())
        self._last_time = (moment, found)
        return found


def _probes() -> list[ContactGrants]:
    texts = ["", "x", 'quote " and \\ backslash', "tab\tnewline\n\x00\x1f", "é€😀", "a" * 300]
    times = [
        datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
        datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-7, minutes=-30))),
        datetime(1, 1, 1, tzinfo=UTC),
    ]
    found = [ContactGrants(district_id="d", contact_id="c")]
    for n, value in enumerate(texts):
        found.append(
            ContactGrants(
                district_id=value,
                contact_id=texts[-1 - n],
                grants=tuple(
                    PairGrant(
                        student_id=texts[(n + item) % len(texts)],
                        granted_at=times[(n + item) % len(times)],
                        reissued_from_contact_id=None if item % 2 else texts[item % len(texts)],
                        last_change_id=texts[(n + 2 * item) % len(texts)],
                    )
                    for item in range(n % 4)
                ),
            )
        )
    return found
