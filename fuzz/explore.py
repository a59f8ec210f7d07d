"""Bounded-exhaustive exploration: every schedule up to a number of steps, shortest first.

Schedules are explored breadth-first by length over an alphabet of steps built from the bound
(pages, iocbs, ops), so the first schedule found for a finding is a shortest one. A schedule that
reaches a world state already reached by a schedule of the same or shorter length is not
extended: its extensions behave exactly like the other's (docs/explore.md). Every schedule is
judged as a whole case (its steps, then the drain) in every version, through the one evaluation
path (`oracle.evaluate.evaluate_records`: the explorer runs the worlds itself, to read their
state before the drain).

The world cannot be copied (its tasks are running generators), so each schedule is replayed from
the start: exploration costs one run per schedule and version, and the pruning is what keeps the
number of schedules small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from pagefuzz.fuzz.grammar import IOCB_NAMES
from pagefuzz.fuzz.known import case_name
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import FindingKey, evaluate_records
from pagefuzz.sim.case import FORMAT, Case, parse_case
from pagefuzz.sim.cint import PAGE_CACHE_SIZE
from pagefuzz.sim.world import Version, World

OPS: Final = (
    "aio_write",
    "complete_io",
    "run",
    "pause",
    "settle",
    "flush",
    "truncate",
    "reclaim",
    "sync_write",
    "lock_page",
    "unlock_page",
    "io_error",
)
DEFAULT_OPS: Final = ("aio_write", "complete_io", "run", "pause")


@dataclass(frozen=True)
class Bound:
    max_steps: int
    pages: int
    iocbs: int
    queues: int
    ops: tuple[str, ...] = DEFAULT_OPS
    collide: bool = False  # every page pinned to queue 0
    lookup_next: str = "last+1"
    filtered_wakeups: bool = False
    unaligned: bool = True

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "file_pages": self.pages,
            "wait_queues": self.queues,
            "lookup_next": self.lookup_next,
            "filtered_wakeups": self.filtered_wakeups,
            "auto_settle": "run" not in self.ops,
            "settle_bound": 64,
        }
        if self.collide:
            config["queue_of"] = {str(i): 0 for i in range(self.pages)}
        return config

    def describe(self) -> str:
        return (
            f"max_steps={self.max_steps} pages={self.pages} iocbs={self.iocbs} "
            f"queues={self.queues}{' (all pages on queue 0)' if self.collide else ''} "
            f"ops={','.join(self.ops)} lookup_next={self.lookup_next} "
            f"filtered_wakeups={'on' if self.filtered_wakeups else 'off'}"
        )


def alphabet(bound: Bound, used_iocbs: int) -> Iterator[dict[str, Any]]:
    """The steps that may follow a schedule that has submitted `used_iocbs` iocbs. Iocbs are
    submitted in name order (A before B): schedules that differ only by iocb names are the same
    schedule, so only one of them is explored."""
    page_size = PAGE_CACHE_SIZE
    if "aio_write" in bound.ops and used_iocbs < bound.iocbs:
        name = IOCB_NAMES[used_iocbs]
        for start in range(bound.pages):
            for length in range(1, bound.pages - start + 1):
                yield {
                    "op": "aio_write",
                    "iocb": name,
                    "pos": start * page_size,
                    "count": length * page_size,
                }
        if bound.unaligned:
            yield {"op": "aio_write", "iocb": name, "pos": 512, "count": page_size}
    for page in range(bound.pages):
        if "complete_io" in bound.ops:
            yield {"op": "complete_io", "page": page}
        if "io_error" in bound.ops:
            yield {"op": "complete_io", "page": page, "error": True}
        if "flush" in bound.ops:
            yield {"op": "flush", "page": page}
        if "reclaim" in bound.ops:
            yield {"op": "reclaim", "page": page}
        if "lock_page" in bound.ops:
            yield {"op": "lock_page", "task": "L", "page": page}
        if "unlock_page" in bound.ops:
            yield {"op": "unlock_page", "task": "L", "page": page}
    if "truncate" in bound.ops:
        for size in (0, page_size // 2, page_size):
            yield {"op": "truncate", "task": "X", "size": size}
    if "sync_write" in bound.ops:
        yield {"op": "sync_write", "task": "T", "pos": 0, "count": bound.pages * page_size}
    if "run" in bound.ops:
        for i in range(used_iocbs):
            for until in (None, "lookup", "page") if "pause" in bound.ops else (None,):
                step: dict[str, Any] = {"op": "run", "iocb": IOCB_NAMES[i]}
                if until:
                    step["until"] = until
                yield step
        if "settle" in bound.ops:
            yield {"op": "settle"}


@dataclass
class Counterexample:
    key: FindingKey
    signature: str
    case: Case
    depth: int
    schedules: int = 0  # schedules judged when it was found (the explorer's "executions")


@dataclass
class Certificate:
    bound: Bound
    versions: list[str]
    schedules: int = 0
    states: int = 0
    pruned: int = 0
    depth_done: int = 0
    complete: bool = False
    interrupted: bool = False  # stopped by Ctrl-C (a time-limit stop only leaves complete false)
    seconds: float = 0.0
    shortest: dict[FindingKey, Counterexample] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        per_version: dict[str, Any] = {}
        for version in self.versions:
            found = {k: c for k, c in self.shortest.items() if k.version == version}
            per_version[version] = (
                {
                    str(k): {"signature": c.signature, "steps": c.depth, "case": c.case.name}
                    for k, c in sorted(found.items())
                }
                if found
                else "no violation within the bound"
            )
        return {
            "format": "pagefuzz/certificate-v1",
            "bound": self.bound.describe(),
            "complete": self.complete,
            "interrupted": self.interrupted,
            "depth_closed": self.depth_done,
            "schedules": self.schedules,
            "distinct_states": self.states,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 2),
            "versions": per_version,
        }


class ExploreInterrupted(KeyboardInterrupt):
    """Ctrl-C during `explore`: carries the certificate of what was judged so far (marked
    interrupted, not complete), so that the caller can still write it. A KeyboardInterrupt, so
    that callers which do not look for it stop as on any Ctrl-C."""

    def __init__(self, certificate: Certificate) -> None:
        super().__init__()
        self.certificate = certificate


def _case(bound: Bound, steps: list[dict[str, Any]], name: str) -> Case:
    return parse_case({"format": FORMAT, "name": name, "config": bound.config(), "steps": steps})


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


def explore(
    bound: Bound,
    versions: list[str],
    clock: Callable[[], float],
    progress: Callable[[Certificate, int, int], None] | None = None,
    seconds_max: float | None = None,
    prune: bool = True,
) -> Certificate:
    """Breadth-first over schedules of length 0..max_steps; `clock` is injected (the shell passes
    a monotonic clock) so that this stays free of wall-clock reads of its own. `progress` is
    called after each schedule of the length being explored, pruned or not. Ctrl-C raises
    `ExploreInterrupted` with the certificate so far: like a time-limit stop, it lists every
    counterexample judged and the last length closed."""
    impls: list[Version] = [get_version(v) for v in versions]
    cert = Certificate(bound, list(versions))
    started = clock()
    try:
        _explore(bound, impls, cert, clock, started, progress, seconds_max, prune)
    except KeyboardInterrupt:
        cert.interrupted = True
        cert.seconds = clock() - started
        raise ExploreInterrupted(cert) from None
    return cert


def _explore(
    bound: Bound,
    impls: list[Version],
    cert: Certificate,
    clock: Callable[[], float],
    started: float,
    progress: Callable[[Certificate, int, int], None] | None,
    seconds_max: float | None,
    prune: bool,
) -> None:
    seen: set[tuple[object, ...]] = set()
    frontier: list[list[dict[str, Any]]] = [[]]
    for depth in range(bound.max_steps + 1):
        next_frontier: list[list[dict[str, Any]]] = []
        for index, steps in enumerate(frontier):
            if seconds_max is not None and clock() - started > seconds_max:
                cert.seconds = clock() - started
                return
            case = _case(bound, steps, f"explore-{depth}")
            worlds = []
            for version in impls:
                world = World(case, version)
                world.run_steps()
                worlds.append(world)
            cert.schedules += 1
            state = tuple(w.state_key() for w in worlds)
            if prune and state in seen:
                cert.pruned += 1
                if progress is not None:  # so that the last schedule of a length is reported
                    progress(cert, index + 1, len(frontier))
                continue
            seen.add(state)
            cert.states += 1
            live = _what_can_act(worlds)
            evaluation = evaluate_records(case, [world.finish() for world in worlds])
            for key in sorted(set(evaluation.keys)):
                if key not in cert.shortest:
                    sig = key.signature
                    name = f"shortest-{case_name(key, sig[:6])}"
                    cert.shortest[key] = Counterexample(
                        key, sig, _case(bound, steps, name), depth, cert.schedules
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
