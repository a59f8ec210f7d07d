"""Bounded-exhaustive exploration: every schedule up to a number of steps, shortest first.

Schedules are explored breadth-first by length over an alphabet of steps built from the bound
(pages, iocbs, ops), so the first schedule found for a finding is a shortest one. A schedule that
reaches a world state already reached by a schedule of the same or shorter length is not
extended: its extensions behave exactly like the other's (docs/explore.md). Every schedule is
judged as a whole case (its steps, then the drain) in every version, through the one evaluation
path (`oracle.evaluate.evaluate_records`).

The world cannot be copied (its tasks are running generators), so a world is only ever reached by
replaying a schedule from the start. What makes exploring cheap is that the same argument that
makes pruning sound makes each version's part of a state a function of that version's state key:
the key after a step is a function of the key before it and the step, and a state's findings
(its drain, judged) and what can act in it are functions of its key. So the explorer keeps, per
version, a table from state digest (`sim.snapshot.state_digest`) to a small id, with what can act
there and its findings, and a table of transitions (id, step) -> id. A schedule costs a replay in
a version only when that version's transition is new, and a drain only when the state it reaches
is new to that version; the product of the versions' states (what pruning compares) is then a
tuple of ids. `prune=False` explores the old way, every schedule replayed and drained in every
version, with no table: that is the check of both arguments (tests/test_explore.py).

Replays and drains are the work; they are independent of each other within a batch, so `jobs`
worker processes take them (`Workers`), and a batch's results are merged in item order: the
certificate is the same for any number of jobs. `shard=Shard(i, n)` explores only the subtrees of
every n-th schedule kept at the split depth (docs/explore.md, "Shards"); `merge_certificates`
combines the n shard certificates into one.

This module owns `explore` (the entry point, and the unpruned search) and re-exports the
explorer's public names; the parts live beside it: the bound and its alphabet in
fuzz/explore/space.py, certificates, shards and merging in fuzz/explore/certificate.py, replays,
drains and worker processes in fuzz/explore/jobs.py, the state tables and the pruned search in
fuzz/explore/tables.py.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence

from pagefuzz.fuzz.campaign.known import case_name
from pagefuzz.fuzz.explore.certificate import (
    MERGED_NOTE,
    SPLIT_PER_SHARD,
    Certificate,
    Counterexample,
    MergeError,
    Shard,
    merge_certificates,
    parse_shard,
)
from pagefuzz.fuzz.explore.jobs import Workers
from pagefuzz.fuzz.explore.space import DEFAULT_OPS, OPS, Bound, Steps, alphabet, case_of
from pagefuzz.fuzz.explore.tables import BATCH, Explorer, Pace
from pagefuzz.sim.world import Version

__all__ = [
    "BATCH",
    "DEFAULT_OPS",
    "MERGED_NOTE",
    "OPS",
    "SPLIT_PER_SHARD",
    "Bound",
    "Certificate",
    "Counterexample",
    "ExploreInterrupted",
    "MergeError",
    "Shard",
    "alphabet",
    "explore",
    "merge_certificates",
    "parse_shard",
    "version_sources",
]


class ExploreInterrupted(KeyboardInterrupt):
    """Ctrl-C during `explore`: carries the certificate of what was judged so far (marked
    interrupted, not complete), so that the caller can still write it. A KeyboardInterrupt, so
    that callers which do not look for it stop as on any Ctrl-C."""

    def __init__(self, certificate: Certificate) -> None:
        super().__init__()
        self.certificate = certificate


def version_sources(versions: Sequence[str]) -> dict[str, str]:
    """The SHA-256 of the file of every version loaded from one (`py:FILE.py[:Class]`,
    `c:FILE.c`), by its name: shards explored on other machines merge only if they ran the
    same code."""
    from pagefuzz.fuzz.versions.resolve import spec_of

    out: dict[str, str] = {}
    for name in versions:
        sha = spec_of(name).sha256
        if sha is not None:
            out[name] = sha
    return out


def explore(
    bound: Bound,
    versions: list[str],
    clock: Callable[[], float],
    progress: Callable[[Certificate, int, int], None] | None = None,
    seconds_max: float | None = None,
    prune: bool = True,
    jobs: int = 1,
    shard: Shard | None = None,
    in_process: Mapping[str, Callable[[], Version]] | None = None,
    stop: Callable[[Certificate], bool] | None = None,
) -> Certificate:
    """Breadth-first over schedules of length 0..max_steps; `clock` is injected (the shell passes
    a monotonic clock) so that this stays free of wall-clock reads of its own. `progress` is
    called after each batch of schedules of the length being explored (pruned or not), with the
    number of that length judged so far and their total: the last call of a length has them
    equal. Ctrl-C raises `ExploreInterrupted` with the certificate so far: like a time-limit stop,
    it lists every counterexample judged and the last length closed. `jobs` worker processes
    share the replays and drains (the certificate is the same for any number); `shard` explores
    one shard of the schedule space. `in_process` names versions of the caller's own, by the
    names `versions` gives them (built here, in this process; `jobs` 1): the mutation
    benchmark's mutants.

    `stop`, if given, is asked after each length has been judged in full while some of its
    schedules are kept to be extended (never after the bound's last length: a bound that closes
    is complete). When it says yes the search ends there, as a time limit ends it but at a
    length's end: `depth_closed` is that length, every counterexample up to it is listed,
    `complete` is false (not every schedule of the bound was judged) and `interrupted` false
    (that is Ctrl-C's). `stop=None` changes nothing."""
    cert = Certificate(bound, list(versions), jobs=max(1, jobs), shard=shard)
    cert.sources = version_sources([v for v in versions if v not in (in_process or {})])
    started = clock()
    pace = Pace(clock, started, seconds_max, progress, stop)
    workers: Workers | None = None
    try:
        workers = Workers(versions, bound, cert.jobs, in_process)
        if not prune:
            _explore_every_schedule(bound, len(versions), workers, cert, pace)
        else:
            Explorer(bound, len(versions), workers, cert, pace).run()
    except KeyboardInterrupt:
        cert.interrupted = True
        cert.seconds = clock() - started
        raise ExploreInterrupted(cert) from None
    finally:
        if workers is not None:
            workers.close()
        gc.unfreeze()
    return cert


def _explore_every_schedule(
    bound: Bound,
    nversions: int,
    workers: Workers,
    cert: Certificate,
    pace: Pace,
) -> None:
    """Without pruning and without the state tables: every schedule replayed and drained in
    every version (the check of both arguments; slow), paced as `Explorer` is."""
    steps_of = Steps(bound)
    frontier: list[tuple[int, ...]] = [()]
    number = 0
    for depth in range(bound.max_steps + 1):
        next_frontier: list[tuple[int, ...]] = []
        for index, schedule in enumerate(frontier):
            if pace.out_of_time(cert):
                return
            items = [(number + v, (v, schedule)) for v in range(nversions)]
            number += nversions
            reached = workers.reach(items)
            found = [key for keys in workers.drain(items) for key in keys]
            cert.schedules += 1
            cert.states += 1
            for key in sorted(set(found)):
                if key not in cert.shortest:
                    sig = key.signature
                    name = f"shortest-{case_name(key, sig[:6])}"
                    steps = [steps_of.dicts[i] for i in schedule]
                    cert.shortest[key] = Counterexample(
                        key, sig, case_of(bound, steps, name), depth, cert.schedules
                    )
            if depth < bound.max_steps and not any(r[3] for r in reached):
                can_run = frozenset(a for r in reached for a in r[1])
                in_flight = frozenset(p for r in reached for p in r[2])
                used = sum(steps_of.submits[s] for s in schedule)
                next_frontier.extend(
                    (*schedule, s)
                    for s in steps_of.children[used]
                    if steps_of.may_act(s, can_run, in_flight)
                )
            pace.tell(cert, index + 1, len(frontier))
        cert.depth_done = depth
        frontier = next_frontier
        if not frontier:
            break
        if pace.stopped(cert):
            return
    cert.complete = True
    pace.finish(cert)
