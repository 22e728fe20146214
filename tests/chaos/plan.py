"""A chaos run's schedule, drawn from its seed: the faults, their order, when, and how long a
killed process stays down."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

#: What can be SIGKILLed: a poller, a worker, the broker leading a raw or a changes partition.
KILLS = ("poller", "worker", "raw_leader", "changes_leader")
BROKERS = frozenset({"raw_leader", "changes_leader"})
#: Two at once: any two kinds, never two brokers (two of three down stops every write that
#: needs two in-sync replicas, by design, rather than testing recovery).
PAIRS = tuple(
    (first, second)
    for i, first in enumerate(KILLS)
    for second in KILLS[i + 1 :]
    if not {first, second} <= BROKERS
)
#: What Clever does wrong.
CLEVER_FAULTS = (
    "rate_limit_storm",
    "server_errors",
    "timeouts",
    "truncated",
    "expired_cursor",
    "redelivered",
)


@dataclass(frozen=True)
class Action:
    """One thing that happens to the run, ``gap_s`` seconds after the pipeline caught up
    with the one before.

    ``kills`` names the processes to SIGKILL together (then restarted after ``pause_s``);
    ``fault`` a misbehaviour of Clever's for district number ``target``. ``probe`` is neither:
    the same catch-up is timed with nothing broken, as the baseline of the recoveries.
    """

    gap_s: float
    kills: tuple[str, ...] = ()
    fault: str | None = None
    target: int = 0
    pause_s: float = 0.0
    probe: bool = False

    def describe(self) -> str:
        """A few words for the run's log and report."""
        if self.kills:
            return f"kill {' + '.join(self.kills)} #{self.target}, down {self.pause_s:.1f}s"
        if self.fault is not None:
            return f"Clever {self.fault.replace('_', ' ')} on district #{self.target}"
        return "probe (nothing broken)"


def draw_plan(
    seed: int,
    *,
    districts: int,
    kills: int,
    faults: int,
    probes: int = 2,
    max_gap_s: float = 4.0,
    max_pause_s: float = 5.0,
    in_pairs: bool = False,
) -> list[Action]:
    """The run's actions, in the order they happen, one at a time: each waits until the
    pipeline has caught up with the one before, so each recovery is timed alone.

    Every kill kind and one pair of kills, then every Clever fault, come at least once when
    ``kills`` and ``faults`` allow; the rest are drawn at random. ``in_pairs`` covers the
    kill kinds with two pairs (a poller with one leader, a worker with the other): the
    shortest plan that kills everything.
    """
    rng = random.Random(seed)  # noqa: S311 - a seeded schedule, not a secret
    if in_pairs:
        leaders = ["raw_leader", "changes_leader"]
        rng.shuffle(leaders)
        kinds: list[tuple[str, ...]] = [("poller", leaders[0]), ("worker", leaders[1])]
    else:
        kinds = [(kind,) for kind in KILLS] + [rng.choice(PAIRS)]
    rng.shuffle(kinds)
    while len(kinds) < kills:
        kinds.append(rng.choice([*((kind,) for kind in KILLS), *PAIRS]))
    fault_kinds = list(CLEVER_FAULTS)
    rng.shuffle(fault_kinds)
    while len(fault_kinds) < faults:
        fault_kinds.append(rng.choice(CLEVER_FAULTS))
    actions = [
        Action(
            gap_s=0.0,
            kills=chosen,
            target=rng.randrange(2),
            pause_s=round(rng.uniform(0.5, max_pause_s), 1),
        )
        for chosen in kinds[:kills]
    ]
    actions += [
        Action(gap_s=0.0, fault=fault, target=rng.randrange(districts))
        for fault in fault_kinds[:faults]
    ]
    actions += [Action(gap_s=0.0, probe=True) for _ in range(probes)]
    rng.shuffle(actions)
    return [replace(action, gap_s=round(rng.uniform(1.0, max_gap_s), 1)) for action in actions]
