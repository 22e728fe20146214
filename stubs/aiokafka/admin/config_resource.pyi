"""A broker or topic whose configuration is described."""

from enum import IntEnum

class ConfigResourceType(IntEnum):
    BROKER = 4
    TOPIC = 2

class ConfigResource:
    def __init__(self, resource_type: ConfigResourceType, name: str) -> None: ...
