"""The changelog topics either engine keeps for a worker group, read without an engine.

The native engine keeps one changelog, its keys ``<table>:<table key>``; Faust keeps one per
table, named ``<group>-<table>-changelog``, its keys the table keys themselves. A tool that
works on a group's state while no worker runs (``clever-stream partitions grow``) finds every
one of them here, and the district each record belongs to, without loading Faust.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.engines.native.changelog import changelog_topic, parse_changelog_key
from streams.state.tables import TABLE_NAMES, district_of_key


@dataclass(frozen=True, slots=True)
class ChangelogTopic:
    """One changelog topic of a worker group, and how its keys are laid out."""

    name: str
    #: The native layout: the table's name and a colon before the table key.
    table_prefixed: bool

    def district_of(self, key: bytes) -> str:
        """The district a changelog record of this topic belongs to; ValueError if its key
        is not one of the worker's."""
        table_key = parse_changelog_key(key)[1] if self.table_prefixed else key
        return district_of_key(table_key)


def changelog_topics(group_id: str) -> list[ChangelogTopic]:
    """Every changelog topic the worker group ``group_id`` may have, with either engine."""
    native = ChangelogTopic(changelog_topic(group_id), table_prefixed=True)
    # Faust names a table's changelog ``<app id>-<table>-changelog``; the app ID is the group.
    faust = [ChangelogTopic(f"{group_id}-{table}-changelog", False) for table in TABLE_NAMES]
    return [native, *faust]
