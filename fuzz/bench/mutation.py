"""Search power on unplanted bugs: the mutation benchmark (in the style of Magma's and FuzzBench's
bug mode), over the single-change mutants of `fixed` in benchmarks/mutants.toml (docs/mutants.md).

For each mutant:

- each engine of ENGINES (fuzz/campaign/engines.py), for a few seeds, runs a fresh campaign on
  that mutant alone, as a user would (`pagefuzz fuzz --versions py:benchmarks/mutants.py:Class
  --fresh --stop-on-finding`, in a child process, CI=true), and the campaign's first finding
  (read from its directory: campaign.json and the finding's file) gives the executions to it;
  the minimised case it left is replayed against `fixed`, which must pass it
  (the finding is the mutation's, not a bug of fixed);
- the explorer (fuzz/explore/search.py) runs a few small bounds in turn, each with a time cap, and
  stops at the first length at which one of them shows a violation (breadth-first: that length
  is the shortest within that bound). A mutant no bound shows a violation for is either
  equivalent within the bounds (every bound closed to the depth stated) or beyond them. Each
  mutant's explorations run in a process of their own (`explore_mutant`, in a spawned process
  pool), beside the campaigns.

This module measures: `measure_mutants` returns the numbers (`pagefuzz bench --part mutants`,
fuzz/bench/parts.py); fuzz/bench/mutation_render.py makes the Markdown section of them.
"""

from __future__ import annotations

import functools
import importlib.util
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.campaign.engines import ENGINES
from pagefuzz.fuzz.explore.search import Bound, Certificate, explore
from pagefuzz.fuzz.files import read_json
from pagefuzz.impls.fixed import Fixed
from pagefuzz.oracle.evaluate import evaluate
from pagefuzz.sim import Version, parse_case

#: The mutants' file, beside the package's source tree (a checkout's; the wheel has none): it
#: builds them from their changes in benchmarks/mutants.toml. Campaigns load it as `py:FILE:Class`.
MUTANTS_FILE: Final = Path(__file__).resolve().parents[2] / "benchmarks" / "mutants.py"


@functools.cache
def mutants() -> dict[str, type[Version]]:
    """name (`fixed~...`) -> mutant class, loaded from MUTANTS_FILE once."""
    if not MUTANTS_FILE.is_file():
        raise FileNotFoundError(f"{MUTANTS_FILE}: the mutants need a checkout of pagefuzz")
    spec = importlib.util.spec_from_file_location("pagefuzz_benchmark_mutants", MUTANTS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    found: dict[str, type[Version]] = module.MUTANTS
    return found


#: The explorer's bounds, tried in this order; each is small enough to close a few lengths in a
#: few seconds for one version. `auto`: settled steps (no `run`: every actor runs as far as it
#: can at once), with I/O errors and a synchronous writer; `sched`: the explorer's default
#: alphabet (iocb runs, pauses at the named points); `collide`: every page on queue 0, the
#: table two queues; `removal`: reclaim and truncation racing paused iocbs.
EXPLORE_BOUNDS: Final[tuple[tuple[str, Bound], ...]] = (
    (
        "auto",
        Bound(
            max_steps=8,
            pages=2,
            iocbs=2,
            queues=2,
            ops=("aio_write", "complete_io", "io_error", "sync_write"),
        ),
    ),
    ("sched", Bound(max_steps=8, pages=2, iocbs=2, queues=2)),
    (
        "collide",
        Bound(
            max_steps=8, pages=2, iocbs=2, queues=2, ops=("aio_write", "complete_io"), collide=True
        ),
    ),
    (
        "removal",
        Bound(
            max_steps=10,
            pages=2,
            iocbs=1,
            queues=2,
            ops=("aio_write", "complete_io", "run", "pause", "flush", "reclaim", "truncate"),
        ),
    ),
)


@dataclass(frozen=True)
class Settings:
    seeds: int
    seconds: float  # each campaign's --time
    explore_seconds: float  # each bound's time cap
    jobs: int  # campaigns and explorations run side by side


def settings_for(quick: bool, seeds: int | None = None, seconds: float | None = None) -> Settings:
    """Quick: one seed, a few seconds per campaign; full: 3 seeds, 60 s per campaign."""
    jobs = max(1, min(4, os.cpu_count() or 1))
    if quick:
        return Settings(seeds or 1, seconds or 5.0, 3.0, jobs)
    return Settings(seeds or 3, seconds or 60.0, 30.0, jobs)


def version_spec(cls: type) -> str:
    return f"py:{MUTANTS_FILE}:{cls.__name__}"


# ------------------------------------------------------------------ one campaign


def _replays_on_fixed(case_json: dict[str, Any], name: str) -> dict[str, Any]:
    """The campaign's minimised case, run in `fixed` and in the mutant: the checks each fails."""
    case = parse_case({**case_json, "expect": None})
    evaluation = evaluate(case, [Fixed(), mutants()[name]()])
    fixed, mutant = evaluation.verdicts.values()
    return {"fixed_checks": sorted(set(fixed.checks)), "mutant_checks": sorted(set(mutant.checks))}


def run_campaign(name: str, engine: str, seed: int, seconds: float) -> dict[str, Any]:
    """A fresh campaign on the mutant alone, stopped at its first finding; what it found first."""
    cls = mutants()[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c"
        started = time.monotonic()
        command = [
            sys.executable, "-m", "pagefuzz", "fuzz", "--engine", engine,
            "--versions", version_spec(cls), "--time", str(seconds), "--seed", str(seed),
            "--fresh", "--out", str(out), "--stop-on-finding",
        ]  # fmt: skip
        env = {**os.environ, "CI": "true"}
        proc = subprocess.run(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
        row: dict[str, Any] = {"engine": engine, "seed": seed, "found": False}
        row["wall_seconds"] = round(time.monotonic() - started, 2)
        try:
            # The campaign's own summary, written atomically (a reader never sees half of it).
            summary = read_json(out / "campaign.json")
        except (OSError, ValueError):
            summary = {}
        if summary.get("status") not in ("done", "stopped"):  # it failed, or never started
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            row["error"] = str(summary.get("error") or last)[:300]
            return row
        found = [f for f in summary["findings"] if f["first_seen_executions"] is not None]
        row["found"] = bool(summary["findings"])
        row["campaign_executions"] = summary["executions"]
        row["campaign_seconds"] = summary["seconds"]
        for first in sorted(found, key=lambda f: int(f["first_seen_executions"]))[:1]:
            record = read_json(out / "findings" / f"{first['signature']}.json")
            row.update(
                executions=first["first_seen_executions"],
                seconds=first["first_seen_s"],
                finding="/".join(first["key"].rsplit("/", 2)[-2:]),  # check/kind
                steps_found=first["steps_found"],
                steps_minimized=first["steps_minimized"],
                **_replays_on_fixed(record["case"], name),
            )
    return row


# ------------------------------------------------------------------ the explorer


def explore_mutant(
    name: str, seconds: float, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """Each bound of EXPLORE_BOUNDS in turn until one shows a violation: the shortest length,
    the checks at it and the schedules it took; else how far each bound got. Module-level, with
    arguments that pickle: measure_mutants runs it in a spawned process."""
    tried = []
    for label, bound in EXPLORE_BOUNDS:
        cert = explore(
            bound,
            [name],
            clock,
            seconds_max=seconds,
            in_process={name: mutants()[name]},
            stop=_shows_violation,
        )
        summary = cert.summary()
        del summary["shortest"]  # below: the shortest length alone, and what shows it
        entry: dict[str, Any] = {
            "bound": label,
            "describe": summary.pop("bound"),
            **summary,
            "seconds": round(cert.seconds, 2),
        }
        tried.append(entry)
        if cert.shortest:
            depth = min(c.depth for c in cert.shortest.values())
            at = [c for c in cert.shortest.values() if c.depth == depth]
            entry.update(
                {
                    "shortest": depth,
                    "checks": sorted({c.key.check for c in at}),
                    "schedules_to_first": min(c.schedules for c in at),
                    "case": min(at, key=lambda c: c.schedules).case.to_json(),
                }
            )
            return {"found": True, "bound": label, "shortest": depth, "tried": tried}
    return {"found": False, "tried": tried}


def _shows_violation(cert: Certificate) -> bool:
    """explore's `stop`: asked at the end of each length, so the first length with a
    counterexample is the last explored, and every check at it is in the certificate."""
    return bool(cert.shortest)


def _explore_in(explorers: Executor, name: str, seconds: float) -> dict[str, Any]:
    """explore_mutant in a process of `explorers`, waited for by a thread of measure_mutants'
    pool, so that explorations and campaigns share its `jobs` slots."""
    try:
        result: dict[str, Any] = explorers.submit(explore_mutant, name, seconds).result()
    except Exception as exc:  # one failed exploration is a row that says so, not a lost run
        return {"found": False, "tried": [], "error": f"{type(exc).__name__}: {exc}"[:300]}
    return result


# ------------------------------------------------------------------ the whole measurement


def reason_unfound(explored: dict[str, Any]) -> str:
    """Why nothing found a mutant, from what the explorer closed."""
    tried = explored.get("tried", [])
    if explored.get("found"):
        return "beyond the campaigns: explore shows a violation within its bound"
    if tried and all(t["complete"] for t in tried):
        return "equivalent within the bounds (explore closed every bound)"
    closed = ", ".join(f"{t['bound']} to depth {t['depth_closed']}" for t in tried)
    return f"equivalent within the bounds explored (explore closed {closed}), or beyond them"


def measure_mutants(
    seeds: int,
    seconds: float,
    log: Callable[[str], None],
    quick: bool,
    names: list[str] | None = None,
    engines: tuple[str, ...] = ENGINES,
) -> dict[str, Any]:
    """Every mutant (or `names`) against every engine for `seeds` seeds (campaigns of `seconds`,
    stopped at the first finding) and against the explorer's bounds."""
    settings = settings_for(quick, seeds, seconds)
    chosen = names or list(mutants())
    started = time.monotonic()
    jobs: list[tuple[str, str, int]] = [
        (name, engine, seed)
        for name in chosen
        for engine in engines
        for seed in range(1, settings.seeds + 1)
    ]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {engine: [] for engine in engines} for name in chosen
    }
    explored: dict[str, dict[str, Any]] = {}
    # Explorations are Python work, so each runs in a process (spawned: it inherits nothing of
    # this one); campaigns are child processes already. The thread pool bounds both to `jobs`.
    spawn = multiprocessing.get_context("spawn")
    with (
        ThreadPoolExecutor(max_workers=settings.jobs) as pool,
        ProcessPoolExecutor(max_workers=settings.jobs, mp_context=spawn) as explorers,
    ):
        explore_futures = {
            name: pool.submit(_explore_in, explorers, name, settings.explore_seconds)
            for name in chosen
        }
        campaign_futures = [
            (job, pool.submit(run_campaign, job[0], job[1], job[2], settings.seconds))
            for job in jobs
        ]
        for (name, engine, seed), future in campaign_futures:
            row = future.result()
            runs[name][engine].append(row)
            what = (
                f"found {row['finding']} after {row['executions']} executions"
                if row["found"]
                else f"nothing in {row.get('campaign_executions', 0)} executions"
            )
            log(f"  {name} {engine} seed {seed}: {what}")
        for name, future in explore_futures.items():
            explored[name] = future.result()
            e = explored[name]
            log(
                f"  {name} explore: "
                + (
                    f"shortest {e['shortest']} steps ({e['bound']})"
                    if e["found"]
                    else "no violation within the bounds"
                )
            )
    entries: list[dict[str, Any]] = []
    for name in chosen:
        cls = mutants()[name]
        per_engine: dict[str, Any] = {}
        for engine in engines:
            rows = runs[name][engine]
            found = [r for r in rows if r["found"]]
            execs = [int(r["executions"]) for r in found if r.get("executions") is not None]
            per_engine[engine] = {
                "found": len(found),
                "seeds": len(rows),
                "median_executions": statistics.median(execs) if execs else None,
                "runs": rows,
            }
        entry: dict[str, Any] = {
            "name": name,
            "class": cls.__name__,
            "summary": cls.summary,
            "engines": per_engine,
            "explore": explored[name],
        }
        if not any(v["found"] for v in per_engine.values()):
            entry["reason"] = reason_unfound(explored[name])
        entries.append(entry)
    return {
        "format": "pagefuzz/mutation-bench-v1",
        "settings": {
            "seeds": settings.seeds,
            "campaign_seconds": settings.seconds,
            "explore_seconds_per_bound": settings.explore_seconds,
            "explore_bounds": {label: b.describe() for label, b in EXPLORE_BOUNDS},
            "jobs_side_by_side": settings.jobs,
            "quick": quick,
            "engines": list(engines),
        },
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "seconds": round(time.monotonic() - started, 1),
        "mutants": entries,
    }
