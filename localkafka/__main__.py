"""``python -m localkafka``: the ``local-kafka`` command."""

from __future__ import annotations

from localkafka.cli import main

main()
