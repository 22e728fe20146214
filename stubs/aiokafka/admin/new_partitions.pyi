"""Partitions to add to a topic: its new total count."""

class NewPartitions:
    total_count: int
    def __init__(
        self, total_count: int, new_assignments: list[list[int]] | None = None
    ) -> None: ...
