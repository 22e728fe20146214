"""Avro writers compiled from the parsed ``.avsc`` files: the codec's bytes, for less.

``compiler`` builds a record's writer from its schema; ``checked`` checks one against the
codec before it writes (the codec writes otherwise); ``output_writer`` and ``contact_writer``
write the engine's outputs and contacts with them, ``table_values`` and ``grants_writer`` the
worker's internal table values (``schemas/internal/*.avsc``).
"""
