"""`pagefuzz bench`: measure (`fuzz.bench`) and write docs/benchmarks.md with the raw numbers in
a .json beside it; or measure one part again keeping the rest, or only re-render the Markdown
from the last run's numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pagefuzz._casefile import CaseFileError
from pagefuzz.fuzz.bench.parts import PARTS, measure_core, measure_part, render, run_bench
from pagefuzz.fuzz.bench.speed import DEFAULT_BASELINE, BaselineError
from pagefuzz.fuzz.files import read_json, write_atomic, write_json_atomic


def run_bench_command(
    log: Callable[[str], None],
    out: Path,
    quick: bool,
    corpus: Path,
    part: str = "all",
    render_only: bool = False,
    baseline: str | None = None,
) -> None:
    """Everything `pagefuzz bench` does; `log` prints a line."""
    command = "pagefuzz bench" + (" --quick" if quick else "")
    base = baseline or DEFAULT_BASELINE
    repo = Path(__file__).resolve().parent.parent
    raw = out.with_suffix(".json")
    if render_only:
        try:
            results = read_json(raw)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"{raw}: cannot read the raw numbers: {exc}") from None
        write_atomic(out, render(results, command).encode())
        log(f"wrote {out}")
        return
    try:
        if part in PARTS:  # measure one part again, keep the rest
            try:
                results = read_json(raw)
            except (OSError, ValueError) as exc:
                raise CaseFileError(f"{raw}: cannot read the last run: {exc}") from None
            results[part] = measure_part(part, quick, repo, base, log)
        elif part == "core":
            try:
                results = read_json(raw)
            except (OSError, ValueError) as exc:
                raise CaseFileError(f"{raw}: cannot read the last run: {exc}") from None
            results.update(measure_core(quick, corpus, log))
        else:
            results = run_bench(quick, corpus, lambda line: log(line), repo, base)
    except BaselineError as exc:
        raise CaseFileError(str(exc)) from None
    write_atomic(out, render(results, command).encode())
    write_json_atomic(raw, results)
    log(f"wrote {out} and {raw}")
