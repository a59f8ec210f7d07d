"""What a run keeps for its record as it goes (sim/snapshot.py freezes it into the `RunRecord`):
the requests made, the kernel BUGs, the settle bounds hit, the steps skipped, the progress
reports, and how the version's code failed, if it did."""

from __future__ import annotations

from dataclasses import dataclass, field

from pagefuzz.sim.actors import Request
from pagefuzz.sim.failure import VersionFailure
from pagefuzz.sim.record import KernelBug, Progress, SettleBoundHit


@dataclass(eq=False)
class History:
    requests: list[Request] = field(default_factory=list)
    bugs: list[KernelBug] = field(default_factory=list)
    bound_hits: list[SettleBoundHit] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    #: How the version's code failed, if it did: the run ends there (sim/failure.py).
    failure: VersionFailure | None = None
