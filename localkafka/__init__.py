"""A real, single-node Apache Kafka (KRaft) that the project provisions for itself.

Kafka comes from Maven Central (resolved with ``mvn`` into a cache folder) and runs with
``java -cp`` on 127.0.0.1, so tests, the demo and CI need no Docker engine.
"""

from __future__ import annotations

from localkafka.broker import BrokerStatus, LocalKafka, RunningBroker, local_kafka
from localkafka.settings import LocalKafkaSettings

__all__ = ["BrokerStatus", "LocalKafka", "LocalKafkaSettings", "RunningBroker", "local_kafka"]
