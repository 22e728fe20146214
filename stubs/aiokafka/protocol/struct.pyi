"""The base of aiokafka's wire structures."""

from io import BytesIO
from typing import Self

class Struct:
    # Fields are set from the subclass's schema: the subclasses declared here type theirs,
    # and their constructors.
    def encode(self) -> bytes: ...
    @classmethod
    def decode(cls, data: BytesIO | bytes) -> Self: ...
