"""``python -m clever_stream``: the ``clever-stream`` command."""

from __future__ import annotations

from clever_stream.cli import main

main()
