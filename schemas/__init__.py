"""The contract with downstream services: topic layout (and, with issue 4, Avro schemas)."""
