"""Search power on unplanted bugs: the mutation benchmark (in the style of Magma's and FuzzBench's
bug mode), over the single-change mutants of `fixed` in benchmarks/mutants.toml (docs/mutants.md).

For each mutant:

- each engine of fuzz/engines.ENGINES, for a few seeds, runs a fresh campaign on that mutant
  alone, as a user would (`pagefuzz fuzz --versions py:benchmarks/mutants.py:Class --fresh
  --stop-on-finding`, in a child process, CI=true), and the campaign's first finding gives the
  executions to it; the minimised case it left is replayed against `fixed`, which must pass it
  (the finding is the mutation's, not a bug of fixed);
- the explorer (fuzz/explore/search.py) runs a few small bounds in turn, each with a time cap, and
  stops at the first length at which one of them shows a violation (breadth-first: that length
  is the shortest within that bound). A mutant no bound shows a violation for is either
  equivalent within the bounds (every bound closed to the depth stated) or beyond them.

Nothing here is wired into `pagefuzz bench`: `measure_mutants` returns the numbers,
`render_mutants` the Markdown section, and `python -m pagefuzz.fuzz.bench.mutation` is the driver
(`--quick` for a smoke run; see docs/mutants.md).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.campaign.engines import ENGINES
from pagefuzz.fuzz.explore.search import Bound, Certificate, explore
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.impls.fixed import Fixed
from pagefuzz.impls.registry import REGISTRY, register
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
            "--fresh", "--out", str(out), "--stop-on-finding", "--json",
        ]  # fmt: skip
        env = {**os.environ, "CI": "true"}
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        row: dict[str, Any] = {"engine": engine, "seed": seed, "found": False}
        row["wall_seconds"] = round(time.monotonic() - started, 2)
        try:
            summary = json.loads(proc.stdout[proc.stdout.index("{") :])
        except ValueError:
            row["error"] = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
            return row
        found = [f for f in summary["findings"] if f["first_seen_executions"] is not None]
        row["found"] = bool(summary["findings"])
        row["campaign_executions"] = summary["executions"]
        row["campaign_seconds"] = summary["seconds"]
        for first in sorted(found, key=lambda f: int(f["first_seen_executions"]))[:1]:
            record = json.loads((out / "findings" / f"{first['signature']}.json").read_text())
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


class _Shown(Exception):
    """Raised from explore's progress callback once a length has shown a violation."""


def explore_mutant(
    name: str, seconds: float, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """Each bound of EXPLORE_BOUNDS in turn until one shows a violation: the shortest length,
    the checks at it and the schedules it took; else how far each bound got."""
    if name not in REGISTRY:
        register(name, mutants()[name])
    tried = []
    for label, bound in EXPLORE_BOUNDS:
        cert = _explore_bound(name, bound, seconds, clock)
        entry: dict[str, Any] = {
            "bound": label,
            "describe": bound.describe(),
            "complete": cert.complete,
            "depth_closed": cert.depth_done,
            "schedules": cert.schedules,
            "states": cert.states,
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


def _explore_bound(
    name: str, bound: Bound, seconds: float, clock: Callable[[], float]
) -> Certificate:
    """One bound, breadth-first, stopped once a whole length that shows a violation is judged
    (every check at that length is in the certificate) or at the time cap."""
    seen: list[Certificate] = []
    depth_found: list[int] = []

    def progress(cert: Certificate, index: int, total: int) -> None:
        if not seen:
            seen.append(cert)
        if cert.shortest and not depth_found:
            depth_found.append(min(c.depth for c in cert.shortest.values()))
        if depth_found and index == total:
            raise _Shown

    started = clock()
    try:
        return explore(bound, [name], clock, progress, seconds_max=seconds)
    except _Shown:
        cert = seen[0]
        cert.seconds = clock() - started
        return cert


def _explore_child(name: str, seconds: float) -> dict[str, Any]:
    """explore_mutant in a child process (so that explorations run beside campaigns)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pagefuzz.fuzz.bench.mutation", "explore-one", name, str(seconds)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"found": False, "tried": [], "error": proc.stderr.strip()[-300:]}
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
    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        explore_futures = {
            name: pool.submit(_explore_child, name, settings.explore_seconds) for name in chosen
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


# ------------------------------------------------------------------ the page


def _found_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for v in m["engines"].values() for r in v["runs"] if r.get("found")]


def goal_lines(result: dict[str, Any], limit: int = 1000) -> list[str]:
    """The issue's goal, judged: the best engine (most mutants found by every seed) finds every
    mutant explore shows buggy, by every seed, each within `limit` executions (median); and no
    campaign's minimised finding is shorter than explore's shortest."""
    engines = list(result["settings"]["engines"])
    buggy = [m for m in result["mutants"] if m["explore"]["found"]]

    def solid(m: dict[str, Any], engine: str) -> bool:
        v = m["engines"][engine]
        med = v["median_executions"]
        return bool(v["found"] == v["seeds"] and med is not None and med <= limit)

    score = {e: sum(solid(m, e) for m in buggy) for e in engines}

    def total(engine: str) -> float:
        return sum(m["engines"][engine]["median_executions"] or 0 for m in buggy)

    best = max(engines, key=lambda e: (score[e], -total(e)))  # ties: fewer executions
    missed = [m["name"] for m in buggy if not solid(m, best)]
    shorter = [
        m["name"]
        for m in buggy
        if any(r.get("steps_minimized", 1 << 30) < m["explore"]["shortest"] for r in _found_rows(m))
    ]
    lines = [
        f"Goal: the best engine finds every mutant explore shows buggy ({len(buggy)} of "
        f"{len(result['mutants'])}), with every seed, in at most {limit:,} executions (median). "
        f"Best: {best}, {score[best]} of {len(buggy)}"
        + (f"; not so: {', '.join(f'`{n}`' for n in missed)}." if missed else ": met."),
        "Explore finds each shortest: "
        + (
            "no campaign's minimised finding is shorter than explore's shortest."
            if not shorter
            else "shorter minimised findings than explore's for "
            + ", ".join(f"`{n}`" for n in shorter)
            + "."
        ),
    ]
    return lines


def render_mutants(result: dict[str, Any]) -> str:
    """The Markdown section: per mutant what it breaks, the explorer's shortest counterexample
    (and the shortest minimised finding of any campaign) and, per engine, the seeds that found it
    and the median executions to the first finding."""
    s = result["settings"]
    engines = list(s["engines"])
    lines = [
        "## Search power on unplanted bugs: mutants of `fixed`",
        "",
        f"{len(result['mutants'])} single-change mutants of `fixed` (benchmarks/mutants.toml, "
        "docs/mutants.md). Per engine: seeds whose fresh campaign on the mutant alone found it "
        f"within {s['campaign_seconds']:.0f} s / seeds, and the median executions to the first "
        f"finding (seeds 1-{s['seeds']}, `--stop-on-finding`, {s['jobs_side_by_side']} "
        f"campaigns side by side on {result['machine']['cpus']} CPUs). Explore: the shortest "
        "counterexample, in steps, within the first of its bounds that shows one "
        f"({s['explore_seconds_per_bound']:.0f} s cap each; bounds below the table); beside it "
        "the shortest of the campaigns' minimised findings.",
        "",
        "| mutant | what it breaks | explore shortest (steps) | campaigns' minimised | "
        + " | ".join(engines)
        + " |",
        "|---" * (4 + len(engines)) + "|",
    ]
    notes: list[str] = []
    for m in result["mutants"]:
        e = m["explore"]
        shortest = f"{e['shortest']} ({e['bound']})" if e["found"] else "none"
        steps = [int(r["steps_minimized"]) for r in _found_rows(m) if "steps_minimized" in r]
        minimised = str(min(steps)) if steps else "-"
        cells = []
        for engine in engines:
            v = m["engines"][engine]
            med = v["median_executions"]
            cells.append(
                f"{v['found']}/{v['seeds']}, " + (f"{med:,.0f}" if med is not None else "-")
            )
        lines.append(
            f"| `{m['name']}` | {m['summary']} | {shortest} | {minimised} | "
            + " | ".join(cells)
            + " |"
        )
        if m.get("reason"):
            notes.append(f"- `{m['name']}`: found by no engine: {m['reason']}.")
    lines += ["", "Cells: found/seeds, median executions to the first finding.", ""]
    if notes:
        lines += ["Mutants no engine found:", "", *notes, ""]
    lines += [*goal_lines(result), ""]
    lines += ["Explore bounds, in the order tried:", ""]
    for label, describe in s["explore_bounds"].items():
        lines.append(f"- `{label}`: {describe}")
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ the driver


def main(argv: list[str] | None = None) -> int:
    """`python -m pagefuzz.fuzz.bench.mutation [--quick] [--seeds N] [--seconds S] [--only NAME]...
    [--json OUT] [--markdown OUT]`; `explore-one NAME SECONDS` is the child the measurement
    starts for each exploration."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["explore-one"]:
        sys.stdout.write(json.dumps(explore_mutant(argv[1], float(argv[2]))) + "\n")
        return 0
    parser = argparse.ArgumentParser(prog="python -m pagefuzz.fuzz.bench.mutation")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--only", action="append", choices=list(mutants()), default=None)
    parser.add_argument("--engine", action="append", choices=list(ENGINES), default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the section here")
    parser.add_argument(
        "--render", type=Path, default=None, help="only render the section from this JSON result"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        sys.stdout.write(render_mutants(json.loads(args.render.read_text())))
        return 0

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    result = measure_mutants(
        args.seeds or 0,
        args.seconds or 0.0,
        log,
        args.quick,
        args.only,
        tuple(args.engine or ENGINES),
    )
    if args.json is not None:
        write_json_atomic(args.json, result)
        log(f"wrote {args.json}")
    text = render_mutants(result)
    if args.markdown is not None:
        args.markdown.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
