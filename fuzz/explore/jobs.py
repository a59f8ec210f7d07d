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
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from pagefuzz.fuzz.explore.space import Bound, Steps
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle.evaluate import FindingKey, evaluate_records
from pagefuzz.sim.snapshot import state_digest
from pagefuzz.sim.world import Version, World

#: A replay: (version's position in the list, schedule). Its result: the state digest after the
#: schedule's steps, the actors that can run, the pages with I/O in flight, and whether the
#: version's code failed on the way (then nothing can follow: sim/failure.py).
Item = tuple[int, tuple[int, ...]]
Reached = tuple[bytes, tuple[str, ...], tuple[int, ...], bool]
Findings = tuple[FindingKey, ...]


class Runner:
    """Replays schedules in versions and drains them: the explorer's only contact with worlds.
    A world whose state it has not reached before (in that version) is kept until the next batch
    of replays, because the explorer asks for exactly those states' drains."""

    def __init__(
        self, versions: Sequence[Version], bound: Bound, catch_version_errors: bool = False
    ) -> None:
        self.versions = list(versions)
        self.steps = Steps(bound)
        self.known: list[set[bytes]] = [set() for _ in versions]
        self.kept: dict[int, World] = {}
        #: Worlds of versions from outside the package catch what their code raises (the
        #: runner in their fork server), and are watched there (`world_hook`).
        self.catch_version_errors = catch_version_errors
        self.world_hook: Callable[[World], None] | None = None

    def world(self, item: Item) -> World:
        version, schedule = item
        world = World(
            self.steps.case(schedule, "explore"),
            self.versions[version],
            catch_version_errors=self.catch_version_errors,
        )
        if self.world_hook is not None:
            self.world_hook(world)
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
            out.append(
                (digest, tuple(can_run), tuple(in_flight), world.history.failure is not None)
            )
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
    from pagefuzz.fuzz.versions.spec import BASE_ENV

    os.environ.setdefault(BASE_ENV, base)
    runner = Runner([get_version(name) for name in versions], bound)
    while True:
        message = conn.recv()
        if message[0] == "reach":
            conn.send(runner.reach(message[1]))
        elif message[0] == "drain":
            conn.send(runner.drain(message[1]))
        else:
            break
    conn.close()


# The jobs `_Hosted` sends to a version's fork-server runner (fuzz/versions/forkserver.py calls
# them with its RunnerState): a Runner of that one version, kept between jobs, whose worlds report
# what runs to the fork server.


def runner_start(state: Any, bound: Bound) -> None:
    runner = Runner([state.cls()], bound, catch_version_errors=True)
    runner.world_hook = state.watch
    state.kept["explore"] = runner


def runner_reach(state: Any, item: tuple[int, Item]) -> Reached:
    reached: Reached = state.kept["explore"].reach([item])[0]
    return reached


def runner_drain(state: Any, item: tuple[int, Item]) -> Findings:
    found: Findings = state.kept["explore"].drain([item])[0]
    return found


class _Hosted:
    """The explorer's runner for a version from outside the package: a Runner in its fork
    server's runner process (fuzz/versions/isolation.py), one item per job, so that a crash or a
    hang on one schedule is that schedule's finding and the rest go on in a fresh runner."""

    def __init__(self, name: str, bound: Bound) -> None:
        from pagefuzz.fuzz.versions.isolation import Host
        from pagefuzz.fuzz.versions.resolve import spec_of

        self.name = name
        self.host = Host(spec_of(name))
        self.host.setup = [(f"{__name__}:runner_start", bound)]
        self.bound = bound
        #: Items whose replay failed in a way that killed the runner: their findings.
        self.failed: dict[int, Findings] = {}

    def reach(self, items: list[tuple[int, Item]]) -> list[Reached]:
        from pagefuzz.fuzz.versions.isolation import failure_digest

        def on_failure(job: tuple[Any, ...], failure: Any) -> Reached:
            number = job[1][0]
            self.failed[number] = self._keys(number, job[1][1], failure)
            return (failure_digest(failure), (), (), True)

        return self.host.call(
            [(f"{__name__}:runner_reach", (number, (0, item[1]))) for number, item in items],
            on_failure,
        )

    def drain(self, items: list[tuple[int, Item]]) -> list[Findings]:
        out: list[Findings | None] = [self.failed.pop(number, None) for number, _ in items]
        todo = [
            (number, item)
            for (number, item), found in zip(items, out, strict=True)
            if found is None
        ]
        if todo:
            answers = iter(
                self.host.call(
                    [(f"{__name__}:runner_drain", (number, (0, item[1]))) for number, item in todo],
                    lambda job, failure: self._keys(job[1][0], job[1][1], failure),
                )
            )
            out = [found if found is not None else next(answers) for found in out]
        self.failed.clear()
        return [found for found in out if found is not None]

    def _keys(self, number: int, item: Item, failure: Any) -> Findings:
        from pagefuzz.fuzz.versions.isolation import failed_record

        steps = Steps(self.bound)
        record = failed_record(steps.case(item[1], "explore"), self.name, failure)
        return evaluate_records(record.case, [record]).keys

    def close(self) -> None:
        self.host.close()


class Workers:
    """`jobs` runners: in this process for one job, else in worker processes (spawned, so that
    nothing of this process's state leaks into them). Item n of a batch goes to runner n mod jobs,
    and so does the drain of item n, to find its world kept; results come back in item order.
    Versions from outside the package are not run here: each has `jobs` runners of its own in
    processes that are watched (`_Hosted`). `in_process` names versions of the caller's own
    (not built-in, not from a file: the mutation benchmark's mutants), run in this process;
    they need `jobs` 1."""

    def __init__(
        self,
        versions: Sequence[str],
        bound: Bound,
        jobs: int,
        in_process: Mapping[str, Callable[[], Version]] | None = None,
    ) -> None:
        from pagefuzz.fuzz.versions.resolve import spec_of

        own = dict(in_process or {})
        if own and jobs > 1:
            raise ValueError("versions of the caller's own run in this process: jobs must be 1")
        self.jobs = jobs
        self.local: Runner | None = None
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        external = {
            i for i, name in enumerate(versions) if name not in own and spec_of(name).external
        }
        #: Version index -> its position among the versions run here (the built-in ones).
        self.inner = {
            i: position
            for position, i in enumerate(i for i in range(len(versions)) if i not in external)
        }
        inner_names = [versions[i] for i in self.inner]
        self.hosted: dict[int, list[_Hosted]] = {
            i: [_Hosted(versions[i], bound) for _ in range(max(1, jobs))] for i in sorted(external)
        }
        if not inner_names:
            return
        if jobs <= 1:
            built = [own[name]() if name in own else get_version(name) for name in inner_names]
            self.local = Runner(built, bound)
            return
        from pagefuzz.fuzz.versions.spec import BASE_ENV

        base = os.environ.get(BASE_ENV) or os.getcwd()
        context = multiprocessing.get_context("spawn")
        for _ in range(jobs):
            parent, child = context.Pipe()
            proc = context.Process(
                target=_worker, args=(child, inner_names, bound, base), daemon=True
            )
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def _run(self, kind: str, items: list[tuple[int, Item]]) -> list[Any]:
        out: list[Any] = [None] * len(items)
        position = {number: i for i, (number, _) in enumerate(items)}
        inner: list[tuple[int, Item]] = []
        hosted: dict[tuple[int, int], list[tuple[int, Item]]] = {}
        for number, item in items:
            if item[0] in self.inner:
                inner.append((number, (self.inner[item[0]], item[1])))
            else:
                hosted.setdefault((item[0], number % len(self.hosted[item[0]])), []).append(
                    (number, item)
                )
        for (version, which), share in hosted.items():
            runner = self.hosted[version][which]
            answer = runner.reach(share) if kind == "reach" else runner.drain(share)
            for (number, _), result in zip(share, answer, strict=True):
                out[position[number]] = result
        if inner:
            for (number, _), result in zip(inner, self._run_inner(kind, inner), strict=True):
                out[position[number]] = result
        return out

    def _run_inner(self, kind: str, items: list[tuple[int, Item]]) -> list[Any]:
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
        for runners in self.hosted.values():
            for runner in runners:
                runner.close()
        self.hosted.clear()
