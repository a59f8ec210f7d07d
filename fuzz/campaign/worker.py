"""One fuzzing worker process: the loop of one engine (random, hypothesis, PCT) feeding cases
to the differential target.

`python -m pagefuzz.fuzz.campaign.worker --engine random|hypothesis|pct --out DIR --worker N --seed
S --seconds T --versions a,b [--depth D] [--hypothesis-db DB]`, started by the campaign's supervisor
(fuzz/campaign/supervisor.py). The atheris engine runs `fuzz/campaign/differential_fuzzer.py`
instead. Both hand every case to `WorkerState.execute` (fuzz/campaign/target.py), which records
findings and statistics.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from hypothesis.database import ExampleDatabase

from pagefuzz.fuzz.campaign.engines import WORKER_ENGINES
from pagefuzz.fuzz.campaign.target import WorkerState
from pagefuzz.fuzz.generation.decode import INPUT_LEN_MAX, decode
from pagefuzz.fuzz.versions.resolve import resolve_for_worker
from pagefuzz.impls.registry import DEFAULT_VERSIONS, ERA_DEFAULT_VERSIONS, get_version
from pagefuzz.sim import Case, Version

#: Seconds a hypothesis shrink may run past the campaign's end before it is cut short.
SHRINK_GRACE_S: Final = 5.0


def random_bytes(rng: random.Random) -> bytes:
    """Uniform bytes of a uniform length covering 0 to DECODED_STEPS_MAX steps: the baseline
    engine's input."""
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(2, INPUT_LEN_MAX)))


def run_random(state: WorkerState, deadline: float) -> None:
    rng = random.Random(state.seed)
    era = state.era
    while time.monotonic() < deadline:
        data = random_bytes(rng)
        state.execute(decode(data, era), data)


class _NewFinding(Exception):
    """Raised inside the hypothesis test so that its shrinker works on a new finding."""


def run_pct(state: WorkerState, deadline: float, depth: int) -> None:
    """PCT schedules (fuzz/campaign/pct.py), the driving version rotating through the campaign's. A
    version from outside the package drives its schedules in its own runner process; if its
    code fails while doing so, a built-in version drives that schedule (post, or the first
    built-in one of the campaign)."""
    from pagefuzz.fuzz.campaign.pct import hosted_pct_case, pct_case
    from pagefuzz.fuzz.versions.isolation import HostedVersion

    rng = random.Random(state.seed)
    versions = state.evaluator.versions
    surrogate = next((v for v in versions if isinstance(v, Version)), None) or get_version(
        ERA_DEFAULT_VERSIONS[state.era][1]
    )
    runs = actors_max = steps_max = 0
    while time.monotonic() < deadline:
        driver = versions[runs % len(versions)]
        if isinstance(driver, HostedVersion):
            run = hosted_pct_case(driver, rng.getrandbits(63), depth) or pct_case(
                rng, depth, surrogate
            )
        else:
            run = pct_case(rng, depth, driver)
        runs += 1
        actors_max = max(actors_max, run.actors)
        steps_max = max(steps_max, run.steps)
        state.pct = {"depth": depth, "runs": runs, "actors_max": actors_max, "steps_max": steps_max}
        state.execute(run.case, None)


def _hypothesis_round(
    state: WorkerState,
    deadline: float,
    seed: int,
    chunk: int,
    database: ExampleDatabase,
    targets: set[str],
    smallest: list[Case],
    reuse: bool = True,
) -> Callable[[], None]:
    """One chunk of hypothesis examples as a test function: a new signature raises, so that
    hypothesis' shrinker works on it; `smallest` ends holding the shrunk case."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from pagefuzz.fuzz.generation.strategies import cases

    # settings outermost: @seed sets `database=None` on the settings it finds, and CI=true's
    # profile has no database either; the explicit database here overrides both.
    @settings(
        max_examples=chunk,
        deadline=None,
        derandomize=False,  # explicit: CI=true would load hypothesis' derandomized profile
        database=database,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
        # Replaying the database (reuse) only in a worker's first chunk: a replayed example
        # whose finding the campaign now knows no longer fails, and hypothesis deletes such
        # entries, so reuse in every chunk emptied the database the campaign had just filled.
        phases=(Phase.explicit, *((Phase.reuse,) if reuse else ()), Phase.generate, Phase.shrink),
    )
    @hypothesis_seed(seed)
    @given(cases(era=state.era))
    def test(case: Case) -> None:
        now = time.monotonic()
        if (now >= deadline and not targets) or now >= deadline + SHRINK_GRACE_S:
            return  # time is up; a shrink in progress gets a few seconds more, then stops
        before = set(state.known)
        evaluation = state.execute(case, None)
        if evaluation is None:
            return
        targets.update({f.signature for f in evaluation.failures} - before)
        if any(f.signature in targets for f in evaluation.failures):
            smallest[:] = [case]
            raise _NewFinding

    return test


def run_hypothesis(
    state: WorkerState, deadline: float, db: Path | None = None, chunk: int = 200
) -> None:
    """@given over the case strategy, in chunks of `chunk` examples with their own seed and a
    directory example database (`db`, default OUT/hypothesis-db). A new signature raises,
    hypothesis shrinks it, and the shrunk case replaces the raw finding the worker recorded
    when it first saw it."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    # A shared directory (--hypothesis-db, e.g. on a network filesystem) lets campaigns on
    # several machines replay and extend each other's examples: hypothesis keys its entries by
    # hash and writes them as separate files, so concurrent writers do not clash.
    database = DirectoryBasedExampleDatabase(str(db or state.campaign.hypothesis_db))
    round_index = 0
    while time.monotonic() < deadline:
        targets: set[str] = set()
        smallest: list[Case] = []
        test = _hypothesis_round(
            state,
            deadline,
            state.seed * 100_003 + round_index,
            chunk,
            database,
            targets,
            smallest,
            reuse=round_index == 0,
        )
        try:
            test()
        except _NewFinding:
            if smallest:
                _replace_with_shrunk(state, smallest[0], targets)
        round_index += 1
        state.maybe_write_stats()


def _replace_with_shrunk(state: WorkerState, case: Case, targets: set[str]) -> None:
    for failure in state.evaluator.evaluate(case).failures:
        if failure.signature in targets:
            state.store.replace_raw_case(failure.signature, case, "hypothesis")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pagefuzz.fuzz.campaign.worker",
        description="one pagefuzz fuzzing worker (used by pagefuzz fuzz)",
    )
    parser.add_argument("--engine", choices=WORKER_ENGINES, required=True)
    parser.add_argument("--depth", type=int, default=3, help="PCT bug depth d (default 3)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--versions", default=",".join(DEFAULT_VERSIONS))
    parser.add_argument("--hypothesis-db", type=Path, default=None)
    args = parser.parse_args(argv)
    versions = resolve_for_worker(args.versions.split(","))  # files as the campaign gave them
    state = WorkerState(args.out, args.worker, versions, args.engine, args.seed)
    deadline = time.monotonic() + args.seconds
    try:
        if args.engine == "random":
            run_random(state, deadline)
        elif args.engine == "pct":
            run_pct(state, deadline, args.depth)
        else:
            run_hypothesis(state, deadline, args.hypothesis_db)
    except KeyboardInterrupt:
        pass
    state.maybe_write_stats(force=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
