"""One fuzzing worker process: an engine loop that evaluates cases and records findings.

`python -m fuzz.worker --engine random|hypothesis|pct --out DIR --worker N --seed S --seconds T
--versions a,b [--hypothesis-db DB]`. The atheris engine runs `fuzz/differential_fuzzer.py`
instead, which shares `WorkerState`. A worker writes each new finding atomically the moment it
sees it, and its statistics to `DIR/workers/N/stats.json` about once a second (with the first hit
of each known signature the corpus shows), so killing it loses nothing but the executions since.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Final

from hypothesis.database import ExampleDatabase

from fuzz.decode import STEPS_MAX, decode
from fuzz.files import write_json_atomic
from fuzz.target import Evaluation, Evaluator, Failure, FindingStore, read_known
from sim import Case

#: Seconds a hypothesis shrink may run past the campaign's end before it is cut short.
SHRINK_GRACE_S: Final = 5.0
#: Seconds between statistics writes and between re-reads of what other workers found.
STATS_PERIOD_S: Final = 1.0


def event_pairs(evaluation: Evaluation) -> set[tuple[str, str, str]]:
    """(version, event kind, next event kind) of every run: the behavioural edges that the
    coverage figure counts and that atheris' optional state feedback reports."""
    pairs: set[tuple[str, str, str]] = set()
    for version, record in evaluation.records.items():
        previous = "start"
        for event in record.events:
            pairs.add((version, previous, event.kind))
            previous = event.kind
    return pairs


class WorkerState:
    def __init__(self, out: Path, worker: int, versions: list[str], engine: str, seed: int) -> None:
        self.out = out
        self.worker = worker
        self.engine = engine
        self.seed = seed
        self.evaluator = Evaluator(versions)
        self.store = FindingStore(out)
        self.known: set[str] = set()
        #: Signatures the corpus shows that this worker has not hit yet, and the first hit of
        #: each one it has (executions, seconds, wall time): what the campaign reports as
        #: "known re-found". Only signatures the corpus shows: not this campaign's own findings.
        self.unhit: set[str] = set()
        self.known_hits: dict[str, dict[str, float]] = {}
        known_file = out / "known.json"
        if known_file.exists():
            corpus, earlier = read_known(known_file)
            self.known.update(corpus, earlier)
            self.unhit.update(set(corpus) - earlier)
        self.known |= self.store.signatures_on_disk()
        self.unhit -= self.store.signatures_on_disk()
        self.executions = 0
        self.crashes = 0
        self.findings: list[dict[str, object]] = []
        self.features: set[tuple[str, str]] = set()
        self.started = time.monotonic()
        self.last_stats = 0.0
        self.stats_path = out / "workers" / str(worker) / "stats.json"
        self.pct: dict[str, int] = {}
        self.last_pairs: set[tuple[str, str, str]] = set()  # of the last execution
        self.pending: list[tuple[Failure, Case, bytes | None, dict[str, object]]] = []
        self.write_errors = 0
        self.last_write_error = ""
        self.parent = os.getppid()

    def execute(self, case: Case, raw: bytes | None) -> Evaluation | None:
        """Evaluate one case; record new findings; never raise for a verdict."""
        try:
            evaluation = self.evaluator.evaluate(case)
        except Exception as exc:  # a harness error, not a verdict: kept apart as a crash
            self.crashes += 1
            name = f"crash-{self.worker}-{self.executions}"
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.store.record_crash(
                name, raw if raw is not None else json.dumps(case.to_json()).encode(), detail
            )
            return None
        self.executions += 1
        self.last_pairs = event_pairs(evaluation)
        self.features.update((previous, kind) for _version, previous, kind in self.last_pairs)
        for failure in evaluation.failures:
            if failure.signature in self.known:
                if failure.signature in self.unhit:  # one set lookup per known failure
                    self._hit_known(failure.signature)
                continue
            self.known.add(failure.signature)
            seconds = round(time.monotonic() - self.started, 3)
            meta = {
                "engine": self.engine,
                "worker": self.worker,
                "seed": self.seed,
                "executions": self.executions,
                "seconds": seconds,
            }
            self.pending.append((failure, case, raw, meta))
        self.flush_pending()
        self.maybe_write_stats()
        return evaluation

    def _hit_known(self, signature: str) -> None:
        self.unhit.discard(signature)
        self.known_hits[signature] = {
            "executions": self.executions,
            "seconds": round(time.monotonic() - self.started, 3),
        }

    def flush_pending(self) -> None:
        """Write the findings not yet on disk. A failed write (a full disk, a vanished
        directory) keeps the finding in memory and fuzzing goes on; it is tried again after
        every execution, so nothing found is lost while the process lives."""
        while self.pending:
            failure, case, raw, meta = self.pending[0]
            try:
                written = self.store.record_raw(failure, case, raw, meta)
            except OSError as exc:
                self.write_errors += 1
                self.last_write_error = f"{type(exc).__name__}: {exc}"
                return
            self.pending.pop(0)
            if written:
                self.findings.append({"signature": failure.signature, **meta})

    def maybe_write_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_stats < STATS_PERIOD_S:
            return
        self.last_stats = now
        if self.parent != 1 and os.getppid() != self.parent:
            # The campaign that started us is gone (killed): stop rather than run on unseen.
            # Every finding is already on disk; --resume starts fresh workers.
            self.flush_pending()
            os._exit(0)
        with contextlib.suppress(OSError):
            self.known |= self.store.signatures_on_disk()
        elapsed = max(now - self.started, 1e-9)
        with contextlib.suppress(OSError):  # statistics are best effort; findings are not
            self._write_stats(elapsed)

    def _write_stats(self, elapsed: float) -> None:
        write_json_atomic(
            self.stats_path,
            {
                "worker": self.worker,
                "engine": self.engine,
                "seed": self.seed,
                "pid": os.getpid(),
                "executions": self.executions,
                "seconds": round(elapsed, 3),
                "exec_per_s": round(self.executions / elapsed, 1),
                "crashes": self.crashes,
                "coverage": len(self.features),
                "findings": self.findings,
                "known_hits": self.known_hits,
                "pct": self.pct,
                "pending_findings": len(self.pending),
                "write_errors": self.write_errors,
                "last_write_error": self.last_write_error,
            },
        )


def random_bytes(rng: random.Random) -> bytes:
    """Uniform bytes of a uniform length covering 0-16 steps: the baseline engine's input."""
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(2, 2 + 2 * STEPS_MAX)))


def run_random(state: WorkerState, deadline: float) -> None:
    rng = random.Random(state.seed)
    while time.monotonic() < deadline:
        data = random_bytes(rng)
        state.execute(decode(data), data)


class _NewFinding(Exception):
    """Raised inside the hypothesis test so that its shrinker works on a new finding."""


def run_pct(state: WorkerState, deadline: float, depth: int) -> None:
    """PCT schedules (fuzz/pct.py), the driving version rotating through the campaign's."""
    from fuzz.pct import pct_case

    rng = random.Random(state.seed)
    names = state.evaluator.names
    runs = actors_max = steps_max = 0
    while time.monotonic() < deadline:
        run = pct_case(rng, depth, names[runs % len(names)])
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
) -> Callable[[], None]:
    """One chunk of hypothesis examples as a test function: a new signature raises, so that
    hypothesis' shrinker works on it; `smallest` ends holding the shrunk case."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from fuzz.strategies import cases

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
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    )
    @hypothesis_seed(seed)
    @given(cases())
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
    database = DirectoryBasedExampleDatabase(str(db or state.out / "hypothesis-db"))
    round_index = 0
    while time.monotonic() < deadline:
        targets: set[str] = set()
        smallest: list[Case] = []
        test = _hypothesis_round(
            state, deadline, state.seed * 100_003 + round_index, chunk, database, targets, smallest
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
        path = state.store.raw_dir / f"{failure.signature}.json"
        if failure.signature in targets and path.exists():
            raw = json.loads(path.read_text())
            raw["case"] = case.to_json()
            raw["shrunk_by"] = "hypothesis"
            write_json_atomic(path, raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fuzz.worker",
        description="one pagefuzz fuzzing worker (used by pagefuzz fuzz)",
    )
    parser.add_argument("--engine", choices=("random", "hypothesis", "pct"), required=True)
    parser.add_argument("--depth", type=int, default=3, help="PCT bug depth d (default 3)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--versions", default="pre,post,recheck-locked")
    parser.add_argument("--hypothesis-db", type=Path, default=None)
    args = parser.parse_args(argv)
    state = WorkerState(args.out, args.worker, args.versions.split(","), args.engine, args.seed)
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
