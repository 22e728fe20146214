"""The benchmarks' errors, under the project's one root so the CLI reports them the same way."""

from __future__ import annotations

from foundation.exceptions import CleverStreamError


class BenchError(CleverStreamError):
    """A benchmark step failed, so its figures would mean nothing."""


class StepTimeoutError(BenchError):
    """A step overran its bound: a stuck broker, or a machine far slower than expected."""

    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(
            f"{what} took over {timeout_s:.0f}s",
            hint="raise --timeout on a slow machine, or read the broker's log",
        )


class TopicRefusedError(BenchError):
    """Kafka would not create a benchmark topic."""

    def __init__(self, refused: list[tuple[str, int]]) -> None:
        super().__init__(
            f"Kafka refused to create benchmark topics (topic, error code): {refused}",
            hint="check the broker's log and this client's ACLs",
        )


class KafkaStepError(BenchError):
    """A Kafka client failed a step: the cluster is unreachable, or refused a request."""

    def __init__(self, what: str, error: Exception) -> None:
        super().__init__(
            f"{what} failed: {error!r}",
            hint="check KAFKA_BOOTSTRAP_SERVERS (or the local broker's log) and retry",
        )
