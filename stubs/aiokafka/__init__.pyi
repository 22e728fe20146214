"""Stubs for the part of aiokafka 0.14 this project uses (aiokafka has no py.typed marker).

Only what the project calls is declared, typed from aiokafka's source. A signature may be
narrower than aiokafka's (fewer keyword arguments; keyword-only where we pass by keyword;
bytes keys and values, as no serializer is declared), never wider. Calling something new
means declaring it here first.
"""

from aiokafka.abc import ConsumerRebalanceListener as ConsumerRebalanceListener
from aiokafka.consumer import AIOKafkaConsumer as AIOKafkaConsumer
from aiokafka.producer import AIOKafkaProducer as AIOKafkaProducer
from aiokafka.structs import ConsumerRecord as ConsumerRecord
from aiokafka.structs import TopicPartition as TopicPartition
