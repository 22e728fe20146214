"""The privilege changes and states the engine sends: the codec's bytes, written faster.

A raw record sends about two of these, and the codec builds a datum dict per record and
sub-record before fastavro writes it. Here each is written by a writer compiled from its
``.avsc`` (``streams.writers.compiler``), which keeps what repeats (a district's few
privileges, the cause and the times of one raw record), and checked against the codec at
start (``streams.writers.checked``): if they disagree, the codec writes every record.
"""

from __future__ import annotations

from schemas.codec import Codec
from schemas.records import PrivilegeChange, PrivilegeState
from streams.writers.checked import CONTRACT_TYPES, CheckedWriter
from streams.writers.compiler import RecordCompiler


class OutputWriter:
    """``codec.encode`` of ``PrivilegeChange`` and ``PrivilegeState``, faster, same bytes."""

    def __init__(self, codec: Codec) -> None:
        # One compiler: the two records share the privilege's encoder, and what it keeps.
        compiler = RecordCompiler(CONTRACT_TYPES)
        self._changes = CheckedWriter(codec, PrivilegeChange, compiler=compiler)
        self._states = CheckedWriter(codec, PrivilegeState, compiler=compiler)
        self._write_change = self._changes.write
        self._write_state = self._states.write

    @property
    def writes_itself(self) -> bool:
        """Whether both compiled writers matched the codec, so that they (not it) write."""
        return self._changes.writes_itself and self._states.writes_itself

    def change(self, change: PrivilegeChange) -> bytes:
        """The codec's bytes of ``change``."""
        return self._write_change(change)

    def state(self, state: PrivilegeState) -> bytes:
        """The codec's bytes of ``state``."""
        return self._write_state(state)
