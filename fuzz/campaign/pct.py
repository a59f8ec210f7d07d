"""PCT: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
2010) over the world's actors.

One PCT run builds one case step by step against a live world. The actors are the iocbs of a
random workload (each submitted when it is first chosen) and the disk (it completes the oldest
outstanding I/O). Each actor gets a distinct random priority; d-1 change points are drawn among
the k steps; at every step the highest-priority actor that can act takes one step (an iocb runs
until its next named point, so that it can be preempted inside operate_on_page_range), and when
the step number is the i-th change point the actor that just acted drops to priority i, below
every initial priority. With n actors and at most k steps, one run finds any bug of depth d with
probability at least 1 / (n * k^(d-1)); after R runs without finding it, the chance that such a
bug was missed is at most (1 - 1/(n k^(d-1)))^R.

The schedule is driven by one version's world (the runs rotate through the campaign's versions)
and then replayed, as a case, against every version. The guarantee covers the schedules of the
workloads PCT draws (1-3 AIO writes over 2 pages, successful I/O completions, preemption at the
named points), not truncation, reclaim or I/O errors: a check those are needed for is reported
missed with the same bound, which then says nothing about them. `pct_bounds` works that bound
out, per version and check, for a campaign's summary.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from pagefuzz.fuzz.campaign.summary import PctBounds
from pagefuzz.fuzz.generation.grammar import IOCB_NAMES
from pagefuzz.oracle import CHECKS
from pagefuzz.oracle.evaluate import FindingKey
from pagefuzz.sim.case import FORMAT, Case, parse_case
from pagefuzz.sim.cint import PAGE_CACHE_SIZE
from pagefuzz.sim.sched import DISK
from pagefuzz.sim.world import Version, World

if TYPE_CHECKING:
    from pagefuzz.fuzz.versions.isolation import HostedVersion

#: Steps one PCT run takes at most (k): enough for 3 iocbs of 2 pages to finish.
PCT_STEPS_MAX: Final = 24


@dataclass(frozen=True)
class PctRun:
    case: Case
    actors: int  # n
    steps: int  # k


def pct_case(
    rng: random.Random,
    depth: int,
    driver: Version,
    pages: int = 2,
    catch_version_errors: bool = False,
) -> PctRun:
    """One PCT schedule as a case (auto_settle off: every move is an explicit step). A driver
    from outside the package builds its schedules in its own runner process (`hosted_pct_case`),
    which calls this with `catch_version_errors`."""
    n_iocbs = rng.randint(1, 3)
    config: dict[str, Any] = {
        "file_pages": pages,
        "wait_queues": rng.choice([1, 2, 4]),
        "auto_settle": False,
        "settle_bound": 64,
    }
    if driver.era != "2004-01":
        config["era"] = driver.era  # the driving version's world, with the era's defaults
    iocbs: list[dict[str, Any]] = []
    for name in IOCB_NAMES[:n_iocbs]:
        start = rng.randrange(pages)
        length = rng.randint(1, pages - start)
        pos = start * PAGE_CACHE_SIZE + (512 if rng.random() < 0.25 else 0)
        iocbs.append(
            {"op": "aio_write", "iocb": name, "pos": pos, "count": length * PAGE_CACHE_SIZE}
        )
    actors = [*(w["iocb"] for w in iocbs), DISK]
    order = list(range(len(actors)))
    rng.shuffle(order)
    priority = {actor: depth + p for actor, p in zip(actors, order, strict=True)}
    change_points = sorted(rng.sample(range(1, PCT_STEPS_MAX + 1), k=max(0, depth - 1)))
    # The schedule is driven against a live world of the driving version.
    probe = parse_case({"format": FORMAT, "name": "pct", "config": config, "steps": []})
    world = World(probe, driver, catch_version_errors=catch_version_errors)
    steps: list[dict[str, Any]] = []
    submitted: set[str] = set()
    for number in range(1, PCT_STEPS_MAX + 1):
        choices = world.runnable()
        can_run = {c.actor for c in choices if c.page is None}
        in_flight = [c.page for c in choices if c.page is not None]  # oldest first
        can_act = [w["iocb"] for w in iocbs if w["iocb"] not in submitted or w["iocb"] in can_run]
        if in_flight:
            can_act.append(DISK)
        if not can_act:
            break
        chosen = max(can_act, key=lambda a: priority[a])
        if chosen == DISK:
            step: dict[str, Any] = {"op": "complete_io", "page": in_flight[0]}
        elif chosen not in submitted:
            step = next(w for w in iocbs if w["iocb"] == chosen)
            submitted.add(chosen)
        else:
            step = {"op": "run", "iocb": chosen, "until": rng.choice(["lookup", "page"])}
        steps.append(step)
        world.step(parse_case({"format": FORMAT, "config": config, "steps": [step]}).steps[0])
        if number in change_points:
            priority[chosen] = change_points.index(number)
    case = parse_case({"format": FORMAT, "name": "pct", "config": config, "steps": steps})
    return PctRun(case, len(actors), len(steps))


def missed_probability(actors: int, steps: int, depth: int, runs: int) -> float:
    """PCT's bound: the chance that R runs without a finding missed a bug of depth <= d."""
    if runs == 0:
        return 1.0
    hit = 1.0 / (actors * max(steps, 1) ** (depth - 1))
    return float((1.0 - hit) ** runs)


def bound_words(bound: float) -> str:
    """A miss probability for people: tiny bounds underflow to 0.0 in floating point."""
    return f"<= {bound:.3g}" if bound > 0 else "< 1e-300 (underflows)"


def pct_bounds(
    worker_stats: Iterable[Mapping[str, Any]],
    found: Iterable[FindingKey],
    versions: Sequence[str],
    depth: int,
) -> PctBounds:
    """Per version and check of a campaign: found, or the probability that a bug of depth <= d
    was missed by every run. `worker_stats` are the `pct` counters of the workers' stats.json
    (runs, and the most actors and steps a run had: n and k of the bound)."""
    runs = actors = steps = 0
    for pct in worker_stats:
        runs += int(pct.get("runs", 0))
        actors = max(actors, int(pct.get("actors_max", 0)))
        steps = max(steps, int(pct.get("steps_max", 0)))
    shown = {(key.version, key.check) for key in found}
    bound = missed_probability(actors or 1, steps or 1, depth, runs)
    words = bound_words(bound)
    table = {
        f"{version}/{check}": (
            "found" if (version, check) in shown else f"missed with probability {words}"
        )
        for version in versions
        for check in CHECKS
    }
    return PctBounds(depth, runs, actors, steps, bound, table)


def hosted_pct_case(hosted: HostedVersion, seed: int, depth: int) -> PctRun | None:
    """A PCT schedule driven by the world of a version from outside the package, built in its
    fork server's runner (`runner_pct_case`, seeded with `seed`); None if the version's code
    failed while it was being built (the caller drives that schedule with another version)."""
    (run,) = hosted.host.call([(f"{__name__}:runner_pct_case", seed, depth)], lambda _j, _f: None)
    return cast("PctRun | None", run)


def runner_pct_case(state: Any, seed: int, depth: int) -> PctRun:
    """The job `hosted_pct_case` sends: run in the version's runner (fuzz/versions/forkserver.py
    calls it with its RunnerState)."""
    return pct_case(random.Random(seed), depth, state.version, catch_version_errors=True)
