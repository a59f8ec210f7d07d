"""`pagefuzz bench`: measure (`fuzz.bench`) and write docs/benchmarks.md with the raw numbers in
a .json beside it; or measure one part again keeping the rest, or only re-render the Markdown
from the last run's numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pagefuzz._replay import CaseFileError
from pagefuzz.fuzz.bench import measure_memory, measure_reliability, render, run_bench
from pagefuzz.fuzz.files import read_json, write_atomic, write_json_atomic


def run_bench_command(
    log: Callable[[str], None],
    out: Path,
    quick: bool,
    corpus: Path,
    part: str = "all",
    render_only: bool = False,
) -> None:
    """Everything `pagefuzz bench` does; `log` prints a line."""
    command = "pagefuzz bench" + (" --quick" if quick else "")
    raw = out.with_suffix(".json")
    if render_only:
        try:
            results = read_json(raw)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{raw}: cannot read the raw numbers: {exc}") from None
        write_atomic(out, render(results, command).encode())
        log(f"wrote {out}")
        return
    if part in ("reliability", "memory"):  # measure one part again, keep the rest
        try:
            results = read_json(raw)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{raw}: cannot read the last run: {exc}") from None
        if part == "memory":
            results["memory"] = measure_memory(40 if quick else 400, log)
        else:
            inputs, kills = (2000, 1) if quick else (20000, 3)
            results["reliability"] = measure_reliability(inputs, kills, log)
    else:
        results = run_bench(quick, corpus, lambda line: log(line))
    write_atomic(out, render(results, command).encode())
    write_json_atomic(raw, results)
    log(f"wrote {out} and {raw}")
