"""The pruned search: per version, a `Table` of the states reached (digest -> id, what can act
there, its findings) and of the transitions (id, step) -> id, and the `Explorer`, breadth-first
over the product of the tables, asking its `Workers` only for transitions and states new to a
version, and splitting the schedule space at the split depth when exploring a shard."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from pagefuzz.fuzz.campaign.known import case_name
from pagefuzz.fuzz.explore.certificate import SPLIT_PER_SHARD, Certificate, Counterexample
from pagefuzz.fuzz.explore.jobs import Findings, Item, Workers
from pagefuzz.fuzz.explore.space import Bound, Steps, case_of
from pagefuzz.oracle.evaluate import FindingKey


@dataclass
class Table:
    """One version's states: digest -> id, and by id what can act there and its findings
    (None until drained); transitions (id * steps + step) -> id."""

    ids: dict[bytes, int] = field(default_factory=dict)
    can_run: list[frozenset[str]] = field(default_factory=list)
    in_flight: list[frozenset[int]] = field(default_factory=list)
    findings: list[Findings] = field(default_factory=list)
    moves: dict[int, int] = field(default_factory=dict)
    #: States in which the version's code failed: the run ended there, nothing follows.
    failed: set[int] = field(default_factory=set)


#: A schedule kept at a depth: its steps, each version's state id, the iocbs it has submitted.
Node = tuple[tuple[int, ...], tuple[int, ...], int]

#: Schedules judged per batch (times jobs): the granularity of progress and of the time limit.
BATCH: Final = 1024


def _settle_garbage() -> None:
    """Collect the garbage of a batch's worlds, then move what survives (the tables, the kept
    schedules) out of the cyclic collector's sight: otherwise every full collection scans the
    whole search so far, which cost a third of the run. Undone when `explore` returns."""
    gc.collect()
    gc.freeze()


@dataclass
class Pace:
    """When a search ends short of its bound, and who hears how far it got: the injected clock
    and the moment it started, the time cap, `explore`'s progress callback and its `stop`."""

    clock: Callable[[], float]
    started: float
    seconds_max: float | None = None
    progress: Callable[[Certificate, int, int], None] | None = None
    #: Asked once each length is closed (search.explore's `stop`); yes ends the search there.
    stop: Callable[[Certificate], bool] | None = None

    def out_of_time(self, cert: Certificate) -> bool:
        if self.seconds_max is not None and self.clock() - self.started > self.seconds_max:
            self.finish(cert)
            return True
        return False

    def stopped(self, cert: Certificate) -> bool:
        """Asked at a length's end: if yes, not every schedule of the bound was judged."""
        if self.stop is not None and self.stop(cert):
            self.finish(cert)
            return True
        return False

    def tell(self, cert: Certificate, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(cert, done, total)

    def finish(self, cert: Certificate) -> None:
        cert.seconds = self.clock() - self.started


class Explorer:
    """The breadth-first search over the product of the versions' state tables."""

    def __init__(
        self,
        bound: Bound,
        nversions: int,
        workers: Workers,
        cert: Certificate,
        pace: Pace,
    ) -> None:
        self.bound = bound
        self.pace = pace
        self.steps = Steps(bound)
        self.nsteps = len(self.steps.dicts)
        self.tables = [Table() for _ in range(nversions)]
        self.workers = workers
        self.cert = cert
        self.seen: set[tuple[int, ...]] = set()
        self.interned: dict[tuple[str, ...], frozenset[str]] = {}
        self.interned_io: dict[tuple[int, ...], frozenset[int]] = {}

    def live(self, ids: tuple[int, ...]) -> tuple[frozenset[str], frozenset[int]]:
        if len(ids) == 1:
            table = self.tables[0]
            return table.can_run[ids[0]], table.in_flight[ids[0]]
        can_run: frozenset[str] = frozenset()
        in_flight: frozenset[int] = frozenset()
        for table, i in zip(self.tables, ids, strict=True):
            can_run |= table.can_run[i]
            in_flight |= table.in_flight[i]
        return can_run, in_flight

    def children(self, node: Node) -> list[int]:
        if any(i in table.failed for table, i in zip(self.tables, node[1], strict=True)):
            return []  # a version's code failed here: its run ended, no step can follow
        can_run, in_flight = self.live(node[1])
        may_act = self.steps.may_act
        return [s for s in self.steps.children[node[2]] if may_act(s, can_run, in_flight)]

    def resolve(self, items: list[Item], moves: list[int]) -> None:
        """Replay `items` (one per unknown transition `moves[i]`, -1 for the empty schedule),
        enter the states they reach, drain the new ones."""
        numbered = list(enumerate(items))
        reached = self.workers.reach(numbered)
        to_drain: list[tuple[int, Item]] = []
        drained_ids: list[tuple[int, int]] = []
        for (number, item), (digest, can_run, in_flight, failed), move in zip(
            numbered, reached, moves, strict=True
        ):
            table = self.tables[item[0]]
            state = table.ids.get(digest)
            if state is None:
                state = table.ids[digest] = len(table.can_run)
                if failed:
                    table.failed.add(state)
                # One object per distinct set: few, and few objects for the collector to scan.
                table.can_run.append(self.interned.setdefault(can_run, frozenset(can_run)))
                table.in_flight.append(self.interned_io.setdefault(in_flight, frozenset(in_flight)))
                table.findings.append(())
                to_drain.append((number, item))
                drained_ids.append((item[0], state))
            if move >= 0:
                table.moves[move] = state
        for (version, state), found in zip(drained_ids, self.workers.drain(to_drain), strict=True):
            self.tables[version].findings[state] = found

    def visit(self, depth: int, schedule: tuple[int, ...], ids: tuple[int, ...]) -> bool:
        """Count one schedule; False if pruned. A kept one's findings are recorded if new."""
        cert = self.cert
        cert.schedules += 1
        if ids in self.seen:
            cert.pruned += 1
            return False
        self.seen.add(ids)
        cert.states += 1
        found: set[FindingKey] = set()
        for table, i in zip(self.tables, ids, strict=True):
            found.update(table.findings[i])
        for key in sorted(found):
            if key not in cert.shortest:
                sig = key.signature
                name = f"shortest-{case_name(key, sig[:6])}"
                steps = [self.steps.dicts[i] for i in schedule]
                cert.shortest[key] = Counterexample(
                    key, sig, case_of(self.bound, steps, name), depth, cert.schedules
                )
        return True

    def run(self) -> None:
        cert = self.cert
        ntables = len(self.tables)
        if self.pace.out_of_time(cert):
            return
        # Depth 0: the empty schedule.
        self.resolve([(v, ()) for v in range(ntables)], [-1] * ntables)
        root_ids = (0,) * ntables  # the first state of every table
        self.visit(0, (), root_ids)
        frontier: list[Node] = [((), root_ids, 0)]
        self.pace.tell(cert, 1, 1)
        self.level_done(0, frontier)
        if self.bound.max_steps == 0:
            frontier = []
        for depth in range(1, self.bound.max_steps + 1):
            if not frontier:
                break
            if self.pace.stopped(cert):
                return
            next_frontier: list[Node] = []
            expansions = [(node, self.children(node)) for node in frontier]
            total = sum(len(c) for _, c in expansions)
            done = 0
            batch = BATCH * self.workers.jobs
            position = 0
            while position < len(expansions):
                if self.pace.out_of_time(cert):
                    return
                chunk: list[tuple[Node, list[int]]] = []
                size = 0
                while position < len(expansions) and size < batch:
                    chunk.append(expansions[position])
                    size += len(expansions[position][1])
                    position += 1
                self.expand(chunk)
                for node, steps in chunk:
                    schedule, ids, used = node
                    for s in steps:
                        child_ids = tuple(
                            table.moves[i * self.nsteps + s]
                            for table, i in zip(self.tables, ids, strict=True)
                        )
                        child = (*schedule, s)
                        if self.visit(depth, child, child_ids) and depth < self.bound.max_steps:
                            next_frontier.append((child, child_ids, used + self.steps.submits[s]))
                done += size
                _settle_garbage()
                self.pace.tell(cert, done, total)
            if total == 0:
                self.pace.tell(cert, 0, 0)
            frontier = next_frontier
            self.level_done(depth, frontier)
        cert.complete = True
        self.pace.finish(cert)

    def expand(self, chunk: list[tuple[Node, list[int]]]) -> None:
        """Make every transition the chunk's schedules take known, in every version."""
        items: list[Item] = []
        moves: list[int] = []
        pending: list[set[int]] = [set() for _ in self.tables]
        for (schedule, ids, _), steps in chunk:
            for v, (table, i) in enumerate(zip(self.tables, ids, strict=True)):
                base = i * self.nsteps
                for s in steps:
                    move = base + s
                    if move not in table.moves and move not in pending[v]:
                        pending[v].add(move)
                        items.append((v, (*schedule, s)))
                        moves.append(move)
        if items:
            self.resolve(items, moves)

    def level_done(self, depth: int, frontier: list[Node]) -> None:
        """A length is closed; with a shard, split the kept schedules at the first depth that has
        enough of them, keeping this shard's (every count-th from its index)."""
        cert = self.cert
        cert.depth_done = depth
        shard = cert.shard
        if shard is None or cert.split_depth is not None or not frontier:
            return
        if depth >= 1 and len(frontier) >= SPLIT_PER_SHARD * shard.count:
            cert.split_depth = depth
            cert.top = (cert.schedules, cert.states, cert.pruned)
            frontier[:] = frontier[shard.index - 1 :: shard.count]
