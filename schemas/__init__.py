"""The contract with downstream services: topics, keys, Avro schemas and their codec.

``schemas/avro/*.avsc`` are the source of truth; ``records`` mirrors them in Python,
``codec`` turns records into Avro single-object messages and back, ``topics`` names every
topic, and ``history`` keeps each released schema so changes stay compatible.
"""
