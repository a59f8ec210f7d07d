"""`pagefuzz bench`: the measurements behind docs/benchmarks.md, taken in one run (the page
itself is written by fuzz/bench/render.py).

Every figure is measured here, on this machine, in this run; medians over repetitions. Executions
are the machine-independent figure; seconds are for this machine only. Every case is evaluated
through the one evaluation path (`oracle.evaluate`).
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.bench.render import render
from pagefuzz.fuzz.bench.speed import (
    DEFAULT_BASELINE,
    atheris_rate,
    measure_c_versions,
    measure_speed,
)
from pagefuzz.fuzz.campaign.engines import ENGINES
from pagefuzz.fuzz.campaign.minimize import minimize
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.campaign.worker import random_bytes
from pagefuzz.fuzz.explore.search import Bound, explore
from pagefuzz.fuzz.files import corpus_cases, read_json
from pagefuzz.fuzz.generation.decode import decode
from pagefuzz.impls.registry import DEFAULT_VERSIONS, get_version
from pagefuzz.oracle.evaluate import evaluate

__all__ = ["PARTS", "measure_core", "measure_part", "render", "run_bench"]

HERE: Final = Path(__file__).resolve().parent
VERSIONS: Final = list(DEFAULT_VERSIONS)


def measure_rates(repeats: int, seconds: int, log: Callable[[str], None]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, script in (
        ("trivial", HERE.parent / "campaign" / "trivial_fuzzer.py"),
        ("differential", HERE.parent / "campaign" / "differential_fuzzer.py"),
    ):
        for instrumented in (False, True):
            env = {"PAGEFUZZ_NO_INSTRUMENT": "0" if instrumented else "1"}
            command = [sys.executable, str(script)]
            rates = [atheris_rate(command, env, seconds, [], script.name) for _ in range(repeats)]
            key = f"{name}/{'feedback' if instrumented else 'uninstrumented'}"
            table[key] = statistics.median(rates)
            log(f"  {key}: {table[key]:.0f} exec/s (median of {repeats})")
    table["ratio_uninstrumented"] = (
        table["trivial/uninstrumented"] / table["differential/uninstrumented"]
    )
    table["ratio_feedback"] = table["trivial/feedback"] / table["differential/feedback"]
    return table


def measure_engines(seeds: int, seconds: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Per engine and seed, a campaign from an empty corpus; executions and seconds to the first
    sighting of every finding."""
    out: dict[str, Any] = {}
    for engine in ENGINES:
        runs = []
        for seed in range(1, seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                campaign = Path(tmp) / "c"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pagefuzz",
                        "fuzz",
                        "--engine",
                        engine,
                        "--time",
                        str(seconds),
                        "--seed",
                        str(seed),
                        "--fresh",
                        "--out",
                        str(campaign),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "CI": "true"},
                    check=False,
                )
                # The campaign's own summary, written atomically at its end.
                summary = read_json(campaign / "campaign.json")
            runs.append(
                {
                    f["key"]: (f["first_seen_executions"], f["first_seen_s"])
                    for f in summary["findings"]
                }
            )
            log(
                f"  {engine} seed {seed}: {len(runs[-1])} findings, "
                f"{summary['executions']} executions"
            )
        out[engine] = runs
    return out


def measure_explore(seconds: float, log: Callable[[str], None]) -> dict[str, Any]:
    bound = Bound(max_steps=30, pages=2, iocbs=2, queues=2)
    cert = explore(bound, VERSIONS, time.monotonic, seconds_max=seconds)
    rate = cert.states / max(cert.seconds, 1e-9)
    log(f"  explore: closed depth {cert.depth_done} in {cert.seconds:.0f} s, {rate:.0f} states/s")
    # Each shortest case in full, not only its length: the minimiser's targets below.
    shortest = {
        str(k): {"steps": c.depth, "schedules": c.schedules, "case": c.case.to_json()}
        for k, c in cert.shortest.items()
    }
    return {**cert.summary(), "states_per_s": rate, "shortest": shortest}


def measure_minimizer(explored: dict[str, Any], log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Minimise a random 16-step case showing each finding explore found; compare sizes."""
    evaluator = Evaluator(VERSIONS)
    rng = random.Random(7)
    wanted = dict(explored["shortest"])
    found: dict[str, Any] = {}
    for _ in range(20000):
        if not wanted:
            break
        case = decode(random_bytes(rng))
        for f in evaluator.evaluate(case).failures:
            key = str(f.key)
            if key in wanted and len(case.steps) >= 8:
                found[key] = (case, f.signature)
                del wanted[key]
    rows = []
    for key, (case, sig) in sorted(found.items()):
        started = time.perf_counter()
        small, _ = minimize(case, evaluator, frozenset({sig}))
        took = time.perf_counter() - started
        rows.append(
            {
                "finding": key,
                "steps_before": len(case.steps),
                "steps_after": len(small.steps),
                "explore_shortest": explored["shortest"][key]["steps"],
                "seconds": took,
            }
        )
        log(
            f"  minimise {key}: {len(case.steps)} -> {len(small.steps)} steps in {took:.2f} s "
            f"(explore: {explored['shortest'][key]['steps']})"
        )
    return rows


def measure_regression(corpus: Path, log: Callable[[str], None]) -> dict[str, Any]:
    # The seed era's cases, in its versions (what the baseline commits measured too).
    cases = [case for _path, case in corpus_cases(corpus) if case.config.era == "2004-01"]
    built = [get_version(name) for name in VERSIONS]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        for case in cases:
            evaluate(replace(case, expect=None), built)
        times.append((time.perf_counter() - started) / len(cases))
    per_case = statistics.median(times)
    log(f"  corpus regression: {len(cases)} cases, {per_case * 1000:.1f} ms per case")
    return {"cases": len(cases), "ms_per_case": per_case * 1000}


#: The memory benchmark's cases: random decoded inputs on which recheck-locked storms (it hits
#: the decoder's settle bound of 64), replayed with the bound raised to 10,000 dispatches.
MEMORY_SETTLE_BOUND: Final = 10_000


def storm_cases(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` fuzz-like random cases, each one where recheck-locked runs into a retry storm,
    with settle_bound 10,000: the heaviest replay a user is likely to ask for."""
    rng = random.Random(seed)
    storming = Evaluator(["recheck-locked"])
    cases: list[dict[str, Any]] = []
    while len(cases) < count:
        data = bytes(rng.randrange(256) for _ in range(2 + 2 * rng.randint(2, 16)))
        case = decode(data)
        if not storming.evaluate(case).records["recheck-locked"].settle_bound_hit:
            continue
        raw = case.to_json()
        raw["name"] = f"storm-{len(cases):03d}"
        raw["config"]["settle_bound"] = MEMORY_SETTLE_BOUND
        cases.append(raw)
    return cases


def _peak_rss_mb(command: list[str]) -> tuple[float, float, int]:
    """Peak resident memory (MB) of a child running `command`, its seconds, and the bytes it
    wrote to stdout (os.wait4 gives this child's own rusage, not every child's)."""
    with tempfile.TemporaryFile() as sink:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        written = sink.seek(0, os.SEEK_END)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}")
    return usage.ru_maxrss / 1024, seconds, written


def measure_memory(count: int, log: Callable[[str], None]) -> dict[str, Any]:
    """`pagefuzz replay` of `count` storm-heavy cases, as a user runs it (a child process):
    peak RSS of text output, of --json (streamed JSON Lines) and of --json --no-events."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "storms"
        folder.mkdir()
        for raw in storm_cases(count, seed=1):
            (folder / f"{raw['name']}.json").write_text(json.dumps(raw))
        base = [sys.executable, "-m", "pagefuzz", "replay", str(folder), "--impl"]
        rows = []
        for label, extra in (
            ("text", []),
            ("--json", ["--json"]),
            ("--json --no-events", ["--json", "--no-events"]),
        ):
            mb, seconds, written = _peak_rss_mb([*base, ",".join(VERSIONS), *extra])
            log(f"  replay {count} storm cases, {label}: peak {mb:.0f} MB, {seconds:.0f} s")
            rows.append({"output": label, "peak_rss_mb": mb, "seconds": seconds, "bytes": written})
    return {"cases": count, "settle_bound": MEMORY_SETTLE_BOUND, "runs": rows}


def measure_reliability(inputs: int, kills: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Totality on many random and mutated inputs; findings lost to workers killed at random
    moments (seeded) during a campaign."""
    import signal

    rng = random.Random(2026)
    evaluator = Evaluator(VERSIONS)
    errors = 0
    seeds = [random_bytes(rng) for _ in range(64)]
    for i in range(inputs):
        if i % 2:
            mutable = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 4)):
                if mutable:
                    mutable[rng.randrange(len(mutable))] ^= 1 << rng.randrange(8)
            data = bytes(mutable)
        else:
            data = random_bytes(rng)
        try:
            evaluator.evaluate(decode(data))
        except Exception:
            errors += 1
    log(f"  totality: {inputs} random and mutated inputs, {errors} harness exceptions")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pagefuzz",
                "fuzz",
                "--engine",
                "random",
                "--time",
                str(8 + 4 * kills),
                "--fresh",
                "--out",
                str(out),
            ],
            env={**os.environ, "CI": "true"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seen: set[str] = set()
        survived = 0
        stats = out / "workers" / "0" / "stats.json"
        for _ in range(kills):
            time.sleep(2 + 2 * rng.random())
            try:
                pid = json.loads(stats.read_text())["pid"]
                seen |= {p.stem for p in (out / "findings" / "raw").glob("*.json")}
                os.kill(pid, signal.SIGKILL)
                survived += 1
            except (OSError, ValueError, KeyError):
                continue
            time.sleep(1.5)  # the campaign notices within a poll and restarts the worker
        proc.wait()
        summary = json.loads((out / "campaign.json").read_text())
        kept = {f["signature"] for f in summary["findings"]}
    lost = len(seen - kept)
    log(
        f"  kills: {survived} workers killed, {summary.get('worker_restarts', 0)} restarts, "
        f"{len(seen)} findings on disk before the kills, {lost} lost"
    )
    return {
        "inputs": inputs,
        "harness_exceptions": errors,
        "kills": survived,
        "restarts": summary.get("worker_restarts", 0),
        "findings_before_kills": len(seen),
        "findings_lost": lost,
    }


def measure_july(quick: bool, corpus: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """The July 2004 era (docs/model.md, "Eras"): evaluation rate of random cases of the era in
    its default versions (judged, no timelines, CPU seconds of this process), the era's corpus
    regression, and one exploration of the explorer's benchmark bound in the era. There is no
    baseline to compare with: the era is new; the figures are for the next change to compare."""
    from pagefuzz.impls.registry import ERA_DEFAULT_VERSIONS

    versions = list(ERA_DEFAULT_VERSIONS["2004-07"])
    count = 300 if quick else 1500
    rng = random.Random(1)
    cases = [decode(random_bytes(rng), "2004-07") for _ in range(count)]
    evaluator = Evaluator(versions, events=False)
    for case in cases[:50]:
        evaluator.evaluate(case)
    started = time.process_time()
    failures = sum(len(evaluator.evaluate(case).failures) for case in cases)
    seconds = time.process_time() - started
    log(f"  era 2004-07: {count} random cases in {seconds:.2f} s CPU ({count / seconds:.0f}/s)")
    era_cases = [c for _p, c in corpus_cases(corpus) if c.config.era == "2004-07"]
    built = [get_version(name) for name in versions]
    started = time.perf_counter()
    for case in era_cases:
        evaluate(replace(case, expect=None), built)
    per_case = (time.perf_counter() - started) / max(1, len(era_cases))
    log(f"  era 2004-07 corpus: {len(era_cases)} cases, {per_case * 1000:.1f} ms per case")
    explore_s = 5.0 if quick else 60.0
    bound = Bound(max_steps=30, pages=2, iocbs=2, queues=2, era="2004-07")
    cert = explore(bound, versions, time.monotonic, seconds_max=explore_s)
    log(
        f"  era 2004-07 explore: depth {cert.depth_done} closed, {cert.states} states "
        f"in {cert.seconds:.1f} s"
    )
    return {
        "versions": versions,
        "eval": {"cases": count, "cpu_seconds": seconds, "failures": failures},
        "regression": {"cases": len(era_cases), "ms_per_case": per_case * 1000},
        "explore": cert.summary(),
    }


def measure_part(
    part: str, quick: bool, repo: Path, baseline: str, log: Callable[[str], None]
) -> dict[str, Any]:
    """One part measured on its own (`pagefuzz bench --part`): the others are kept."""
    if part == "speed":
        return measure_speed(repo, baseline, quick, log)
    if part == "c_versions":
        return measure_c_versions(repo, quick, log)
    if part == "mutants":
        from pagefuzz.fuzz.bench.mutation import measure_mutants

        # Quick (CI): one mutant of each kind of mistake, short campaigns.
        names = list(QUICK_MUTANTS) if quick else None
        return measure_mutants(1 if quick else 3, 2.0 if quick else 60.0, log, quick, names)
    if part == "memory":
        return measure_memory(3 if quick else 400, log)
    if part == "reliability":
        inputs, kills = (500, 1) if quick else (20000, 3)
        return measure_reliability(inputs, kills, log)
    if part == "july":
        return measure_july(quick, repo / "corpus", log)
    raise ValueError(f"unknown bench part {part!r}")


#: The mutants `--quick` measures: an off-by-one, an error path, a lost wakeup, a storm.
QUICK_MUTANTS: Final = (
    "fixed~last-off-by-one",
    "fixed~skips-page-error",
    "fixed~lost-wakeup",
    "fixed~retry-without-queueing",
)


#: The parts `pagefuzz bench --part` can measure again on their own, in the order a whole run
#: measures them (after the engine, explorer, minimiser and corpus figures).
PARTS: Final = ("speed", "c_versions", "mutants", "reliability", "memory", "july")


def measure_core(quick: bool, corpus: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """The figures that are not a part of their own: exec/s against the trivial target,
    executions to the first finding per engine, the explorer, the minimiser, corpus regression."""
    repeats, rate_s, seeds, campaign_s, explore_s = (3, 5, 5, 20.0, 60.0)
    if quick:
        repeats, rate_s, seeds, campaign_s, explore_s = (1, 2, 1, 3.0, 5.0)
    log("exec/s against a trivial target")
    rates = measure_rates(repeats, rate_s, log)
    log("engines: executions to first finding")
    engines = measure_engines(seeds, campaign_s, log)
    log("explorer")
    explored = measure_explore(explore_s, log)
    log("minimiser")
    minimiser = measure_minimizer(explored, log)
    log("corpus regression")
    regression = measure_regression(corpus, log)
    return {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "repeats": repeats,
            "rate_seconds": rate_s,
            "seeds": seeds,
            "campaign_seconds": campaign_s,
            "explore_seconds": explore_s,
        },
        "rates": rates,
        "engines": engines,
        "explore": explored,
        "minimiser": minimiser,
        "regression": regression,
    }


def run_bench(
    quick: bool,
    corpus: Path,
    log: Callable[[str], None],
    repo: Path | None = None,
    baseline: str = DEFAULT_BASELINE,
) -> dict[str, Any]:
    repo = (repo or HERE.parent.parent).resolve()
    results = measure_core(quick, corpus, log)
    for part in PARTS:
        log(part.replace("_", " "))
        results[part] = measure_part(part, quick, repo, baseline, log)
    return results
