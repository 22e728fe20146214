"""The foundation every package stands on: settings, errors, Kafka helpers, console, signals.

It imports none of the project's other packages; they all may import it.
"""
