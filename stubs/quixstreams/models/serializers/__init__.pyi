from typing import Any

class SerializationContext:
    topic: str

class Serializer:
    def __call__(self, value: Any, ctx: SerializationContext) -> str | bytes | None: ...
