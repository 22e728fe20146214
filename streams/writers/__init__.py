"""Hand writers of the worker's records: exactly the codec's bytes, at a fraction of its cost.

Shared by both engines' table store and by the native engine's outputs; each checks itself
against the codec (or ``encode_grants``) at start and leaves the writing to it otherwise.
"""
