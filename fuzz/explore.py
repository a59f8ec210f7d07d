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
fuzz/explore_space.py, certificates, shards and merging in fuzz/explore_certificate.py, replays,
drains and worker processes in fuzz/explore_jobs.py, the state tables and the pruned search in
fuzz/explore_tables.py.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagefuzz.fuzz.explore_certificate import (
    MERGED_NOTE,
    SPLIT_PER_SHARD,
    Certificate,
    Counterexample,
    MergeError,
    Shard,
    merge_certificates,
    parse_shard,
)
from pagefuzz.fuzz.explore_jobs import Workers
from pagefuzz.fuzz.explore_space import DEFAULT_OPS, OPS, Bound, alphabet, case_of
from pagefuzz.fuzz.explore_tables import BATCH, Explorer
from pagefuzz.fuzz.known import case_name
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import evaluate_records
from pagefuzz.sim.world import Version, World

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


def version_sources(versions: Sequence[str], base: Path | None = None) -> dict[str, str]:
    """The SHA-256 of the file of every version loaded from one (`py:FILE.py[:Class]`,
    `c:FILE.c`), relative paths against `base` (default: the current directory)."""
    out: dict[str, str] = {}
    for name in versions:
        if name.startswith("py:"):
            text, _, wanted = name[3:].partition(".py:")
            text = text + ".py" if wanted else name[3:]
        elif name.startswith("c:"):
            text = name[2:]
        else:
            continue
        path = Path(text)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
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
) -> Certificate:
    """Breadth-first over schedules of length 0..max_steps; `clock` is injected (the shell passes
    a monotonic clock) so that this stays free of wall-clock reads of its own. `progress` is
    called after each batch of schedules of the length being explored (pruned or not), with the
    number of that length judged so far and their total: the last call of a length has them
    equal. Ctrl-C raises `ExploreInterrupted` with the certificate so far: like a time-limit stop,
    it lists every counterexample judged and the last length closed. `jobs` worker processes
    share the replays and drains (the certificate is the same for any number); `shard` explores
    one shard of the schedule space."""
    cert = Certificate(bound, list(versions), jobs=max(1, jobs), shard=shard)
    cert.sources = version_sources(versions, _versions_base())
    started = clock()
    workers: Workers | None = None
    try:
        if not prune:
            _explore_every_schedule(
                bound,
                [get_version(v) for v in versions],
                cert,
                clock,
                started,
                progress,
                seconds_max,
            )
        else:
            workers = Workers(versions, bound, cert.jobs)
            Explorer(
                bound, len(versions), workers, cert, clock, started, progress, seconds_max
            ).run()
    except KeyboardInterrupt:
        cert.interrupted = True
        cert.seconds = clock() - started
        raise ExploreInterrupted(cert) from None
    finally:
        if workers is not None:
            workers.close()
        gc.unfreeze()
    return cert


def _versions_base() -> Path | None:
    from pagefuzz.fuzz.versions import BASE_ENV

    base = os.environ.get(BASE_ENV)
    return Path(base) if base else None


def _explore_every_schedule(
    bound: Bound,
    impls: list[Version],
    cert: Certificate,
    clock: Callable[[], float],
    started: float,
    progress: Callable[[Certificate, int, int], None] | None,
    seconds_max: float | None,
) -> None:
    """Without pruning and without the state tables: every schedule replayed and drained in
    every version (the check of both arguments; slow)."""
    frontier: list[list[dict[str, Any]]] = [[]]
    for depth in range(bound.max_steps + 1):
        next_frontier: list[list[dict[str, Any]]] = []
        for index, steps in enumerate(frontier):
            if seconds_max is not None and clock() - started > seconds_max:
                cert.seconds = clock() - started
                return
            case = case_of(bound, steps, f"explore-{depth}")
            worlds = []
            for version in impls:
                world = World(case, version)
                world.run_steps()
                worlds.append(world)
            cert.schedules += 1
            cert.states += 1
            live = _what_can_act(worlds)
            evaluation = evaluate_records(case, [world.finish() for world in worlds])
            for key in sorted(set(evaluation.keys)):
                if key not in cert.shortest:
                    sig = key.signature
                    name = f"shortest-{case_name(key, sig[:6])}"
                    cert.shortest[key] = Counterexample(
                        key, sig, case_of(bound, steps, name), depth, cert.schedules
                    )
            if depth < bound.max_steps:
                used = sum(1 for s in steps if s["op"] == "aio_write")
                next_frontier.extend(
                    [*steps, step] for step in alphabet(bound, used) if _may_act(step, live)
                )
            if progress is not None:
                progress(cert, index + 1, len(frontier))
        cert.depth_done = depth
        frontier = next_frontier
        if not frontier:
            break
    cert.complete = True
    cert.seconds = clock() - started


@dataclass(frozen=True)
class _Live:
    """What could act after a schedule, in any version: runnable or paused actors, pages with
    I/O in flight. A step outside this changes nothing in any version (a `run` of an actor that
    cannot run is skipped, a `complete_io` with no I/O does nothing), so the child schedule would
    reach its parent's state and be pruned anyway: it is not generated at all."""

    can_run: frozenset[str]
    in_flight: frozenset[int]


def _what_can_act(worlds: list[World]) -> _Live:
    can_run: set[str] = set()
    in_flight: set[int] = set()
    for world in worlds:
        for choice in world.runnable():
            if choice.page is None:
                can_run.add(choice.actor)
            else:
                in_flight.add(choice.page)
    return _Live(frozenset(can_run), frozenset(in_flight))


def _may_act(step: dict[str, Any], live: _Live) -> bool:
    if step["op"] == "run":
        return str(step.get("iocb", step.get("task"))) in live.can_run
    if step["op"] == "complete_io":
        return int(step["page"]) in live.in_flight
    if step["op"] == "settle":
        return bool(live.can_run)
    return True
