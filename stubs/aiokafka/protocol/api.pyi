"""Broker responses."""

from aiokafka.protocol.struct import Struct

class Response(Struct): ...
