# The part of Quix Streams 3.28 that bench/peer_quix.py uses. Quix Streams lives in a
# virtualenv of its own (.venv-quix: it caps confluent-kafka below the tests' pin), so mypy,
# run in .venv, reads these.
from quixstreams.app import Application as Application
from quixstreams.context import message_context as message_context
from quixstreams.state import State as State

__version__: str
