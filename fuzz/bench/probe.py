#!/usr/bin/env python3
"""One timed measurement of one source tree, for `pagefuzz bench`'s comparison against a
baseline commit (fuzz/bench/speed.py runs this script once per tree and repetition).

It runs with `PYTHONPATH` set to the tree being measured, and finds that tree's modules under
any layout it has had: `pagefuzz.fuzz.PACKAGE.*` (this checkout), `pagefuzz.fuzz.*` or top-level
`fuzz.*` (older commits). Only names both layouts share are used: `decode`, `random_bytes`,
`Evaluator`, `Bound` and `explore` (and `Certificate.summary` where the tree has it). It
prints one JSON object on stdout.

    probe.py eval SEED COUNT VERSIONS [timelines]   decode COUNT random inputs, evaluate
        them, timed (as a campaign does; `timelines`: keeping every event, as replay does)
    probe.py explore MAX_STEPS SECONDS VERSIONS [JOBS]   one bounded exploration
    probe.py run SCRIPT ARGS...         run a tree's script (its atheris target) as __main__

An editable install of this checkout maps `pagefuzz.*` to the checkout whatever `PYTHONPATH`
says, so the probe first drops that mapping: every module then comes from the tree measured.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import random
import runpy
import sys
import time
from types import ModuleType
from typing import Any


def _tree_only() -> None:
    """Forget the editable install's finder, so that imports resolve through PYTHONPATH."""
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
    for name in [m for m in sys.modules if m == "pagefuzz" or m.startswith("pagefuzz.")]:
        del sys.modules[name]


#: Where each module the probe uses lives in this checkout's layout (fuzz/ in subpackages).
_SUBPACKAGE = {
    "decode": "generation.decode",
    "worker": "campaign.worker",
    "target": "campaign.target",
    "explore": "explore.search",
}


def _module(name: str) -> ModuleType:
    """The module in whichever layout the tree has: `pagefuzz.fuzz.PACKAGE.NAME` (this
    checkout), `pagefuzz.fuzz.NAME` (before fuzz/ had subpackages) or `fuzz.NAME` (before the
    architecture issue)."""
    for candidate in (f"pagefuzz.fuzz.{_SUBPACKAGE[name]}", f"pagefuzz.fuzz.{name}"):
        try:
            return importlib.import_module(candidate)
        except ImportError:
            pass
    return importlib.import_module(f"fuzz.{name}")


def measure_eval(seed: int, count: int, versions: list[str], timelines: bool) -> dict[str, Any]:
    """Seconds to evaluate `count` decoded random inputs in `versions` (judged), after a
    warm-up, and a digest of every case's failure signatures: both trees must agree on it."""
    decode = _module("decode").decode
    random_bytes = _module("worker").random_bytes
    evaluator_class = _module("target").Evaluator
    # As a campaign evaluates: without timelines where the tree can (this checkout's
    # Evaluator(events=False)); with `timelines`, as replay does, keeping every event.
    if not timelines and "events" in inspect.signature(evaluator_class).parameters:
        evaluator = evaluator_class(versions, events=False)
    else:
        evaluator = evaluator_class(versions)
    rng = random.Random(seed)
    cases = [decode(random_bytes(rng)) for _ in range(count)]
    for case in cases[:50]:  # imports, caches and the first allocations are not the rate
        evaluator.evaluate(case)
    # CPU seconds of this process: on a shared machine, less of the neighbours' noise.
    started = time.process_time()
    evaluations = [evaluator.evaluate(case) for case in cases]
    seconds = time.process_time() - started
    signatures = [sorted(str(f.signature) for f in e.failures) for e in evaluations]
    digest = hashlib.sha256(json.dumps(signatures).encode()).hexdigest()
    return {
        "cases": count,
        "seconds": seconds,
        "failures": sum(map(len, signatures)),
        "verdicts_sha256": digest,
    }


def measure_explore(
    max_steps: int, seconds: float, versions: list[str], jobs: int
) -> dict[str, Any]:
    """One exploration of the benchmark's bound, closed to `max_steps` unless `seconds` run out."""
    explore_module = _module("explore")
    bound = explore_module.Bound(max_steps=max_steps, pages=2, iocbs=2, queues=2)
    explore = explore_module.explore
    extra: dict[str, Any] = {}
    if jobs > 1:
        if "jobs" not in inspect.signature(explore).parameters:
            return {"unsupported": "this tree's explorer has no jobs"}
        extra["jobs"] = jobs
    cert = explore(bound, versions, time.monotonic, seconds_max=seconds, **extra)
    if hasattr(cert, "summary"):
        summary: dict[str, Any] = cert.summary()
        return summary
    # An older tree's Certificate, from before `summary`: the same fields, read off it.
    lengths = {str(k): c.depth for k, c in cert.shortest.items()}
    return {
        "bound": bound.describe(),
        "complete": cert.complete,
        "depth_closed": cert.depth_done,
        "states": cert.states,
        "schedules": cert.schedules,
        "seconds": cert.seconds,
        "shortest": dict(sorted(lengths.items())),
    }


def main(argv: list[str]) -> None:
    _tree_only()
    task = argv[0]
    if task == "run":
        sys.argv = argv[1:]
        runpy.run_path(argv[1], run_name="__main__")
        return
    if task == "eval":
        timelines = len(argv) > 4 and argv[4] == "timelines"
        result = measure_eval(int(argv[1]), int(argv[2]), argv[3].split(","), timelines)
    elif task == "explore":
        jobs = int(argv[4]) if len(argv) > 4 else 1
        result = measure_explore(int(argv[1]), float(argv[2]), argv[3].split(","), jobs)
    else:
        raise SystemExit(f"probe.py: unknown task {task!r}")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
