"""The explorer's work and who does it: a `Runner` replays schedules in the versions (the state
each reaches, what can act there) and drains them (their findings, through
`oracle.evaluate.evaluate_records`); `Workers` are `jobs` runners, in this process for one job,
else in spawned worker processes (`explore --jobs N`), with results in item order."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from pagefuzz.fuzz.explore_space import Bound, Steps
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import FindingKey, evaluate_records
from pagefuzz.sim.snapshot import state_digest
from pagefuzz.sim.world import Version, World

#: A replay: (version's position in the list, schedule). Its result: the state digest after the
#: schedule's steps, the actors that can run and the pages with I/O in flight.
Item = tuple[int, tuple[int, ...]]
Reached = tuple[bytes, tuple[str, ...], tuple[int, ...]]
Findings = tuple[FindingKey, ...]


class Runner:
    """Replays schedules in versions and drains them: the explorer's only contact with worlds.
    A world whose state it has not reached before (in that version) is kept until the next batch
    of replays, because the explorer asks for exactly those states' drains."""

    def __init__(self, versions: Sequence[str], bound: Bound) -> None:
        self.versions: list[Version] = [get_version(v) for v in versions]
        self.steps = Steps(bound)
        self.known: list[set[bytes]] = [set() for _ in versions]
        self.kept: dict[int, World] = {}

    def world(self, item: Item) -> World:
        version, schedule = item
        world = World(self.steps.case(schedule, "explore"), self.versions[version])
        world.run_steps()
        return world

    def reach(self, batch: list[tuple[int, Item]]) -> list[Reached]:
        with _collect_after():
            return self._reach(batch)

    def drain(self, batch: list[tuple[int, Item]]) -> list[Findings]:
        with _collect_after():
            return self._drain(batch)

    def _reach(self, batch: list[tuple[int, Item]]) -> list[Reached]:
        self.kept.clear()
        out: list[Reached] = []
        for number, item in batch:
            world = self.world(item)
            digest = state_digest(world)
            can_run: list[str] = []
            in_flight: list[int] = []
            for choice in world.runnable():
                if choice.page is None:
                    can_run.append(choice.actor)
                else:
                    in_flight.append(choice.page)
            known = self.known[item[0]]
            if digest not in known:
                known.add(digest)
                self.kept[number] = world
            out.append((digest, tuple(can_run), tuple(in_flight)))
        return out

    def _drain(self, batch: list[tuple[int, Item]]) -> list[Findings]:
        out: list[Findings] = []
        for number, item in batch:
            world = self.kept.pop(number, None) or self.world(item)
            world.drop_timeline()  # a drain is only judged: its events are never read
            record = world.finish()
            out.append(evaluate_records(world.case, [record]).keys)
        self.kept.clear()  # the explorer drains only the states new to it, all in this batch
        return out


@contextlib.contextmanager
def _collect_after() -> Iterator[None]:
    """No cyclic collection while a batch runs, one of the batch's own objects after it: the
    collector would otherwise stop every few hundred allocations to scan the young worlds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect(0)


def _worker(conn: Connection, versions: list[str], bound: Bound, base: str) -> None:
    """A worker process: load the versions (external ones relative to `base`, the directory the
    user ran pagefuzz in), then answer batches until told to stop. Ctrl-C is the parent's to
    handle: the parent stops its workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from pagefuzz.fuzz.versions import BASE_ENV, resolve_versions

    os.environ.setdefault(BASE_ENV, base)
    resolve_versions(versions)
    runner = Runner(versions, bound)
    while True:
        message = conn.recv()
        if message[0] == "reach":
            conn.send(runner.reach(message[1]))
        elif message[0] == "drain":
            conn.send(runner.drain(message[1]))
        else:
            break
    conn.close()


class Workers:
    """`jobs` runners: in this process for one job, else in worker processes (spawned, so that
    nothing of this process's state leaks into them). Item n of a batch goes to runner n mod jobs,
    and so does the drain of item n, to find its world kept; results come back in item order."""

    def __init__(self, versions: Sequence[str], bound: Bound, jobs: int) -> None:
        self.jobs = jobs
        self.local: Runner | None = None
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        if jobs <= 1:
            self.local = Runner(versions, bound)
            return
        from pagefuzz.fuzz.versions import BASE_ENV

        base = os.environ.get(BASE_ENV) or os.getcwd()
        context = multiprocessing.get_context("spawn")
        for _ in range(jobs):
            parent, child = context.Pipe()
            proc = context.Process(
                target=_worker, args=(child, list(versions), bound, base), daemon=True
            )
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def _run(self, kind: str, items: list[tuple[int, Item]]) -> list[Any]:
        if self.local is not None:
            return list(self.local.reach(items) if kind == "reach" else self.local.drain(items))
        shares: list[list[tuple[int, Item]]] = [[] for _ in range(self.jobs)]
        for number, item in items:
            shares[number % self.jobs].append((number, item))
        for conn, share in zip(self.conns, shares, strict=True):
            conn.send((kind, share))
        answers = [conn.recv() for conn in self.conns]
        out: list[Any] = [None] * len(items)
        position = {number: i for i, (number, _) in enumerate(items)}
        for share, answer in zip(shares, answers, strict=True):
            for (number, _), result in zip(share, answer, strict=True):
                out[position[number]] = result
        return out

    def reach(self, items: list[tuple[int, Item]]) -> list[Reached]:
        return self._run("reach", items)

    def drain(self, items: list[tuple[int, Item]]) -> list[Findings]:
        return self._run("drain", items)

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        self.conns.clear()
        self.procs.clear()
