"""Speed against a baseline commit, measured side by side in one run (`pagefuzz bench`).

The baseline is checked out into a temporary git worktree; every figure is taken for both
trees by the same interpreter, through fuzz/bench/probe.py (which resolves each tree's modules
under either layout), alternating baseline and checkout in each round and keeping the best of
the rounds: the machines are shared and noisy, and a ratio of two figures taken seconds apart is
what stays meaningful. Both trees must agree on the verdicts they measure (the failure
signatures of every case, the explorer's findings and shortest lengths): a disagreement is
reported, never averaged away.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from pagefuzz.fuzz.campaign.libfuzzer import LIBFUZZER_ARGS, final_executions
from pagefuzz.fuzz.campaign.worker import random_bytes

HERE: Final = Path(__file__).resolve().parent
PROBE: Final = HERE / "probe.py"
#: The last commit before the newcomer issue: the figures the speed issue's goals are ratios to.
DEFAULT_BASELINE: Final = "088e9e9"
#: The versions every speed figure runs (the campaign's default versions at the baseline).
SPEED_VERSIONS: Final = ("pre", "post", "recheck-locked")


class BaselineError(Exception):
    """The baseline cannot be checked out (not a git clone, unknown or missing commit)."""


@contextlib.contextmanager
def baseline_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """`commit` checked out into a temporary worktree of `repo`, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pagefuzz-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        proc = subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet", str(tree), commit],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["git failed"])[0]
            raise BaselineError(
                f"{repo}: cannot check out baseline {commit} ({first}; a shallow clone needs "
                "`git fetch --unshallow`)"
            )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
                check=False,
            )


def _probe(tree: Path, args: list[str], timeout: float | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "CI": "true"}
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run(
            [sys.executable, str(PROBE), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            check=False,
            timeout=timeout,
        )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"bench probe {' '.join(args)} in {tree} failed: {tail[0]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def atheris_rate(
    command: list[str], env: dict[str, str], seconds: int, seeds: list[bytes], what: str
) -> float:
    """exec/s of an atheris target (`command`, to which the corpus and libFuzzer's options are
    added) over `seconds`, from libFuzzer's own final count; `seeds` start its corpus. The
    campaign's output goes to a scratch directory."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i, data in enumerate(seeds):
            (corpus / f"seed-{i:04d}").write_bytes(data)
        proc = subprocess.run(
            [*command, str(corpus), *LIBFUZZER_ARGS, f"-max_total_time={seconds}", "-seed=1"],
            capture_output=True,
            text=True,
            env={**os.environ, "PAGEFUZZ_OUT": str(Path(tmp) / "out"), **env},
            cwd=tmp,
            check=False,
        )
    runs = final_executions(proc.stderr)
    if runs is None:
        raise RuntimeError(f"{what}: no final stats: {proc.stderr[-300:]}")
    return runs / seconds


def _atheris_rate(tree: Path, feedback: bool, seconds: int, seeds: list[bytes]) -> float:
    """exec/s of `tree`'s differential atheris target, run through the probe (so that its
    modules come from `tree`), with the tree's default feedback or none."""
    target = tree / "fuzz" / "campaign" / "differential_fuzzer.py"
    if not target.is_file():  # before fuzz/ had subpackages
        target = tree / "fuzz" / "differential_fuzzer.py"
    env = {
        "PYTHONPATH": str(tree),
        "CI": "true",
        "PAGEFUZZ_NO_INSTRUMENT": "0" if feedback else "1",
    }
    return atheris_rate(
        [sys.executable, str(PROBE), "run", str(target)], env, seconds, seeds, str(target)
    )


def _best_of(
    rounds: int, measure: Callable[[str], float], log: Callable[[str], None], what: str
) -> dict[str, float]:
    """The best figure (largest rate) of each tree over `rounds`, alternating which goes first."""
    best = {"baseline": 0.0, "checkout": 0.0}
    for r in range(rounds):
        order = ("baseline", "checkout") if r % 2 == 0 else ("checkout", "baseline")
        for side in order:
            best[side] = max(best[side], measure(side))
        log(
            f"  {what}, round {r + 1}: baseline {best['baseline']:,.0f}, "
            f"this {best['checkout']:,.0f}"
        )
    return best


def measure_speed(
    repo: Path, baseline: str, quick: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """The speed issue's figures for the baseline and this checkout, side by side."""
    rounds, cases, atheris_s, explore_steps, explore_s = (3, 1500, 20, 6, 600.0)
    atheris_rounds = rounds
    if quick:
        rounds, cases, atheris_s, explore_steps, explore_s = (2, 300, 3, 4, 120.0)
        atheris_rounds = 1
    versions = ",".join(SPEED_VERSIONS)
    checkout = repo.resolve()
    out: dict[str, Any] = {"baseline": baseline, "versions": list(SPEED_VERSIONS)}
    with baseline_worktree(checkout, baseline) as base:
        trees = {"baseline": base, "checkout": checkout}

        # 1. Evaluation throughput: decoded random cases, every version, judged.
        evals: dict[str, list[dict[str, Any]]] = {"baseline": [], "checkout": []}

        def one_eval(side: str) -> float:
            result = _probe(trees[side], ["eval", "1", str(cases), versions])
            evals[side].append(result)
            return float(result["cases"] / result["seconds"])

        rate = _best_of(rounds, one_eval, log, f"evaluation of {cases:,} cases, cases/s")
        digests = {side: {r["verdicts_sha256"] for r in runs} for side, runs in evals.items()}
        out["evaluation"] = {
            "cases": cases,
            "settle_bound": 64,
            "cases_per_s": rate,
            "ratio": rate["checkout"] / rate["baseline"],
            "failures": evals["checkout"][0]["failures"],
            "verdicts_agree": len(digests["baseline"] | digests["checkout"]) == 1,
        }

        # 2. The atheris campaign's target, with each tree's feedback and without any.
        rng = random.Random(5)
        seeds = [random_bytes(rng) for _ in range(200)]
        for feedback in (True, False):
            label = "feedback" if feedback else "uninstrumented"

            def one_target(side: str, fb: bool = feedback) -> float:
                return _atheris_rate(trees[side], fb, atheris_s, seeds)

            rate = _best_of(atheris_rounds, one_target, log, f"atheris target ({label}), exec/s")
            out[f"atheris_{label}"] = {
                "seconds": atheris_s,
                "exec_per_s": rate,
                "ratio": rate["checkout"] / rate["baseline"],
            }

        # 3. The explorer: the same bound closed by both; states per second.
        explored: dict[str, dict[str, Any]] = {}
        for side in ("baseline", "checkout"):
            explored[side] = _probe(
                trees[side], ["explore", str(explore_steps), str(explore_s), versions]
            )
            e = explored[side]
            log(
                f"  explore ({side}): closed depth {e['depth_closed']}, {e['states']:,} states "
                f"in {e['seconds']:.1f} s"
            )
        jobs = os.cpu_count() or 1
        if jobs > 1:
            parallel = _probe(
                checkout, ["explore", str(explore_steps), str(explore_s), versions, str(jobs)]
            )
            if "unsupported" not in parallel:
                explored[f"checkout --jobs {jobs}"] = parallel
                log(
                    f"  explore (this, --jobs {jobs}): closed depth {parallel['depth_closed']} "
                    f"in {parallel['seconds']:.1f} s"
                )
        rates = {side: e["states"] / max(e["seconds"], 1e-9) for side, e in explored.items()}
        out["explore"] = {
            "max_steps": explore_steps,
            "runs": explored,
            "states_per_s": rates,
            "ratio": max(v for k, v in rates.items() if k != "baseline") / rates["baseline"],
            "findings_agree": all(
                e["shortest"] == explored["baseline"]["shortest"]
                and e["depth_closed"] == explored["baseline"]["depth_closed"]
                for e in explored.values()
            ),
        }
    return out


def _seed_c_versions(repo: Path, directory: Path) -> dict[str, str]:
    """`pre` and `post` as the seed's own C (tests/cseed.py extracts them from the seed patch at
    run time; never committed), if the seed is beside this clone; else nothing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pagefuzz_cseed", repo / "tests" / "cseed.py")
    if spec is None or spec.loader is None:
        return {}
    cseed = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = cseed  # dataclasses look their module up while it loads
    spec.loader.exec_module(cseed)
    if not cseed.SEED.exists():
        return {}
    pre_c, post_c = cseed.write_seed_versions(directory)
    return {"pre": f"c:{pre_c}", "post": f"c:{post_c}"}


def measure_c_versions(repo: Path, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Evaluation rate of each C version beside the Python version it renders, on the same
    decoded random cases, as a campaign's executions evaluate (judged, no timeline), alternating,
    best of the rounds: `fixed` and examples/versions/fixed.c always; the seed's own pre and post
    when the seed is present. The C runs as every version from outside the package runs, in its
    watched fork server (fuzz/versions/isolation.py), and for the isolation's cost also loaded into
    this process; `fixed.c` beside `post` as well (a campaign's usual pair: the built-in version
    runs here while the C runs in its process)."""
    import time

    from pagefuzz.fuzz.generation.decode import decode
    from pagefuzz.fuzz.versions.resolve import resolve_versions, spec_of, version_of
    from pagefuzz.fuzz.versions.spec import load_in_process
    from pagefuzz.impls.registry import get_version
    from pagefuzz.oracle.evaluate import evaluate

    rounds, count = (2, 200) if quick else (3, 1000)
    rng = random.Random(11)
    cases = [decode(random_bytes(rng)) for _ in range(count)]
    rows: list[dict[str, Any]] = []

    def rate(versions: list[Any]) -> float:
        started = time.perf_counter()
        found = 0
        for case in cases:
            found += len(evaluate(case, versions, events=False).failures)  # as a campaign reads
        return count / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        pairs = {"fixed": f"c:{repo / 'examples' / 'versions' / 'fixed.c'}"}
        pairs.update(_seed_c_versions(repo, Path(tmp)))
        names = dict(zip(pairs, resolve_versions(list(pairs.values())), strict=True))
        post = get_version("post")
        for python_name, c_name in names.items():
            runs: dict[str, list[Any]] = {
                "python": [get_version(python_name)],
                "c_in_process": [load_in_process(spec_of(c_name))()],
                "c_isolated": [version_of(c_name)],
            }
            if python_name == "fixed":
                runs["post_and_c_in_process"] = [post, runs["c_in_process"][0]]
                runs["post_and_c_isolated"] = [post, runs["c_isolated"][0]]
            best = dict.fromkeys(runs, 0.0)
            for r in range(rounds):
                for what in list(runs) if r % 2 == 0 else list(reversed(runs)):
                    best[what] = max(best[what], rate(runs[what]))
            shown = (
                "c:examples/versions/fixed.c"
                if python_name == "fixed"
                else f"c:{python_name}.c (the seed's own C)"
            )
            row: dict[str, Any] = {"python": python_name, "c": shown}
            row.update({f"{what}_cases_per_s": value for what, value in best.items()})
            row["python_cases_per_s"] = best["python"]
            row["c_cases_per_s"] = best["c_isolated"]
            rows.append(row)
            log(
                f"  {python_name}: Python {best['python']:,.0f} cases/s, C in-process "
                f"{best['c_in_process']:,.0f}, C isolated {best['c_isolated']:,.0f}"
            )
    return {"cases": count, "rows": rows}
