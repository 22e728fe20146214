"""The Faust engine: faust-streaming agents and tables (``CLEVER_WORKER_ENGINE=faust``).

Importing this package imports Faust; only ``streams.engines.load_engine`` does, when asked for it.
"""
