"""The mutation benchmark's page: `render_mutants`, the Markdown section of the numbers
`measure_mutants` (fuzz/bench/mutation.py) returns, and `goal_lines`, the issue's goal judged on
them. Pure: it reads the result's dict, nothing else (docs/mutants.md)."""

from __future__ import annotations

from typing import Any


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
