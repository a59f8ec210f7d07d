"""The fuzzing subcommands' work: campaigns with a live view, minimise, triage, coverage."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from fuzz.campaign import Campaign
from fuzz.files import write_json_atomic
from fuzz.minimize import minimize
from fuzz.target import Evaluator
from oracle import signature_of
from pagefuzz._output import print_timelines
from pagefuzz._replay import CaseFileError, load_case, replay_case
from sim import Case, InvalidCase, parse_case

#: Seconds between plain progress lines when not on a terminal.
PLAIN_PERIOD_S = 5.0


def _campaign_table(snap: dict[str, Any], engine: str, seconds: float) -> Table:
    table = Table(
        title=f"pagefuzz fuzz: {engine}, {snap['elapsed']:.0f}/{seconds:.0f} s, "
        f"{snap['executions']} executions, {len(snap['findings'])} findings, "
        f"{snap['crashes']} crashes",
        title_justify="left",
    )
    for column in ("worker", "seed", "exec/s", "executions", "coverage", "restarts"):
        table.add_column(column, justify="right")
    for row in snap["workers"]:
        table.add_row(
            str(row["worker"]),
            str(row["seed"]),
            f"{row['exec_per_s']:.0f}",
            str(row["executions"]),
            str(row["coverage"]),
            str(row["restarts"]),
        )
    findings = Table(title="findings", title_justify="left")
    for column in ("signature", "finding", "first seen", "executions", "steps"):
        findings.add_column(column)
    for f in snap["findings"]:
        findings.add_row(
            f["signature"],
            escape(f["key"]),
            f"{f['first_seen_s']:.1f} s",
            str(f["first_seen_executions"]),
            f"{f['steps_found']} -> {f['steps_minimized']}",
        )
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(findings)
    return outer


def run_fuzz(console: Console, campaign: Campaign, as_json: bool) -> dict[str, Any]:
    """Run a campaign with a live view on a terminal, periodic plain lines otherwise."""
    if console.is_terminal and not as_json:
        with Live(console=console, refresh_per_second=2) as live:
            summary = campaign.run(
                lambda snap: live.update(_campaign_table(snap, campaign.engine, campaign.seconds))
            )
        console.print()
    else:
        last = [0.0]

        def tick(snap: dict[str, Any]) -> None:
            now = time.monotonic()
            if now - last[0] >= PLAIN_PERIOD_S and not as_json:
                last[0] = now
                rate = sum(float(w["exec_per_s"]) for w in snap["workers"])
                console.print(
                    f"fuzz {campaign.engine} t={snap['elapsed']:.0f}s "
                    f"executions={snap['executions']} exec/s={rate:.0f} "
                    f"findings={len(snap['findings'])} crashes={snap['crashes']}"
                )

        summary = campaign.run(tick)
    if not as_json:
        console.print(
            f"campaign {summary['status']}: {summary['executions']} executions in "
            f"{summary['seconds']:.1f} s ({summary['exec_per_s']:.0f}/s), "
            f"{len(summary['findings'])} findings, {summary['crashes']} crashes"
        )
        for f in summary["findings"]:
            console.print(
                f"  {f['signature']}  {escape(f['key']):<40} first seen "
                f"{f['first_seen_s']:.1f} s after {f['first_seen_executions']} "
                f"executions; {f['steps_found']} -> {f['steps_minimized']} steps"
            )
        console.print(f"summary: {campaign.out / 'campaign.json'}")
    return summary


# ---------------------------------------------------------------------- minimise


def expect_for(case: Case, versions: list[str]) -> dict[str, Any]:
    """The expect block of a case as the versions behave on it now."""
    outcome = replay_case(replace(case, expect=None), versions)
    return {
        "checks": {v: list(verdict.checks) for v, verdict in outcome.verdicts.items()},
        "differential": {f"{d.pair[0]}/{d.pair[1]}": d.cls for d in outcome.differentials},
    }


def run_minimize(
    console: Console, path: Path, out: Path, versions: list[str], findings: list[str]
) -> Case:
    case = load_case(path)
    evaluator = Evaluator(versions)
    shown = {f.key: f.signature for f in evaluator.evaluate(case).failures}
    if findings:
        missing = [k for k in findings if k not in shown]
        if missing:
            raise CaseFileError(
                f"{path}: does not show {', '.join(missing)}; it shows "
                f"{', '.join(sorted(shown)) or 'no violation'}"
            )
        targets = frozenset(shown[k] for k in findings)
    else:
        targets = frozenset(shown.values())
    if not targets:
        raise CaseFileError(f"{path}: no version violates anything here: nothing to keep")
    small, removed = minimize(case, evaluator, targets)
    small = replace(small, expect=expect_for(small, versions))
    write_json_atomic(out, small.to_json())
    keys = sorted(k for k, s in shown.items() if s in targets)
    console.print(f"kept: {', '.join(keys)}")
    console.print(f"{len(case.steps)} -> {len(small.steps)} steps; removed:")
    for line in removed:
        console.print(f"  - {escape(line)}")
    console.print(f"wrote {out}")
    return small


# ---------------------------------------------------------------------- triage


@dataclass
class Group:
    signature: str
    key: str
    sources: list[str]
    case: Case
    flaky: bool = False
    crash: bool = False
    cls: str = ""


def _load_finding(path: Path) -> tuple[Case, str | None]:
    """A finding file (campaign format, raw or minimised) or a plain case file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaseFileError(f"{path}: unreadable finding: {exc}") from None
    if isinstance(raw, dict) and "case" in raw and "signature" in raw:
        try:
            return parse_case(raw["case"], path.stem), str(raw.get("key")) or None
        except InvalidCase as exc:
            raise CaseFileError(f"{path}: case.{exc}") from None
    return load_case(path), None


def _finding_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            findings = path / "findings"
            root = findings if findings.is_dir() else path
            files.extend(sorted(root.glob("*.json")))
            if (root / "raw").is_dir():
                files.extend(sorted((root / "raw").glob("*.json")))
        else:
            files.append(path)
    return files


def _sanitise(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:80] or "finding"


def run_triage(
    console: Console,
    paths: list[Path],
    versions: list[str],
    promote: Path | None,
    trace: bool,
    repeats: int = 3,
) -> list[Group]:
    files = _finding_files(paths)
    if not files:
        raise CaseFileError(f"{paths[0]}: no findings here")
    evaluator = Evaluator(versions)
    groups: dict[str, Group] = {}
    bad: list[str] = []
    for path in files:
        try:
            case, _key = _load_finding(path)
        except CaseFileError as exc:
            bad.append(str(exc))
            continue
        try:
            runs = [
                json.dumps(
                    replay_case(replace(case, expect=None), versions).to_json(), sort_keys=True
                )
                for _ in range(repeats)
            ]
            evaluation = evaluator.evaluate(case)
        except Exception as exc:  # a harness error on this input: a crash group of its own
            sig = signature_of(f"crash/{type(exc).__name__}")
            group = groups.setdefault(
                sig, Group(sig, f"crash/{type(exc).__name__}", [], case, crash=True, cls="crash")
            )
            group.sources.append(str(path))
            continue
        flaky = len(set(runs)) > 1
        for failure in evaluation.failures:
            if failure.signature not in groups:
                groups[failure.signature] = Group(failure.signature, failure.key, [], case)
            group = groups[failure.signature]
            group.sources.append(str(path))
            group.flaky |= flaky
            if len(case.steps) < len(group.case.steps):
                group.case = case
    for group in groups.values():
        if group.crash:
            continue
        small, _ = minimize(group.case, evaluator, frozenset({group.signature}))
        group.case = replace(small, name=_sanitise(f"{group.key}-{group.signature[:6]}"))
        group.cls = _class_of(group, versions)
    table = Table(title=f"triage: {len(files)} files, {len(groups)} findings")
    for column in ("signature", "finding", "class", "steps", "files", "flaky"):
        table.add_column(column)
    ordered = sorted(groups.values(), key=lambda g: g.key)
    for g in ordered:
        table.add_row(
            g.signature,
            escape(g.key),
            g.cls,
            str(len(g.case.steps)),
            str(len(g.sources)),
            "FLAKY" if g.flaky else "",
        )
    console.print(table)
    for line in bad:
        console.print(f"[red]skipped:[/red] {escape(line)}")
    for g in ordered:
        if g.crash:
            continue
        console.print(
            f"[bold]{g.signature}[/bold] {escape(g.key)} ({g.cls}): {len(g.case.steps)} steps"
        )
        if trace:
            outcome = replay_case(g.case, versions)
            print_timelines(console, outcome.records)
    if promote is not None:
        for g in ordered:
            if g.crash:
                continue
            case = replace(
                g.case,
                notes=f"Found by pagefuzz: {g.key} ({g.cls}).",
                expect=expect_for(g.case, versions),
            )
            target = promote / f"{case.name}.json"
            write_json_atomic(target, case.to_json())
            console.print(f"promoted {target}")
    return ordered


def _class_of(group: Group, versions: list[str]) -> str:
    """The differential class on the minimal case, in the seed's direction: the first version
    (the baseline, `pre` by default) against the finding's version, or against the second
    version when the finding is the baseline's own. `fixed`: the other version violates a strict
    subset of the baseline's checks; `regressed`: a strict superset; `both`: neither."""
    version = group.key.split("/")[0]
    if len(versions) < 2:
        return "-"
    base = versions[0]
    other = versions[1] if version == base else version
    outcome = replay_case(replace(group.case, expect=None), [base, other])
    return outcome.differentials[0].cls


# ---------------------------------------------------------------------- explore


def run_explore(console: Console, versions: list[str], args: Any, ops: list[str]) -> dict[str, Any]:
    """Explore with a progress bar (states/s, the level being closed) and write the certificate
    and one case file per shortest counterexample into args.out."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from fuzz.explore import Bound, explore

    bound = Bound(
        max_steps=args.max_steps,
        pages=args.pages,
        iocbs=args.iocbs,
        queues=args.queues,
        ops=tuple(ops),
        collide=args.collide,
        lookup_next=args.lookup_next,
        filtered_wakeups=args.filtered_wakeups,
    )
    started = time.monotonic()
    columns = (
        TextColumn("explore depth {task.fields[depth]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} schedules of this length"),
        TextColumn("{task.fields[states]} states, {task.fields[rate]:.0f} states/s"),
        TimeElapsedColumn(),
        TextColumn("ETA of this length"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("explore", total=1, depth=0, states=0, rate=0.0)

        def progress(cert: Any, done: int, total: int) -> None:
            rate = cert.states / max(time.monotonic() - started, 1e-9)
            bar.update(
                task,
                completed=done,
                total=total,
                depth=cert.depth_done + 1 if done < total else cert.depth_done,
                states=cert.states,
                rate=rate,
            )

        cert = explore(
            bound, versions, time.monotonic, progress, args.time_limit, prune=not args.no_prune
        )
    args.out.mkdir(parents=True, exist_ok=True)
    for example in cert.shortest.values():
        case = replace(
            example.case,
            notes=f"Shortest counterexample for {example.key} found by "
            f"pagefuzz explore ({bound.describe()}).",
            expect=expect_for(example.case, versions),
        )
        write_json_atomic(args.out / f"{case.name}.json", case.to_json())
    data = cert.to_json()
    write_json_atomic(args.out / "certificate.json", data)
    if not args.json:
        state = (
            "complete"
            if cert.complete
            else f"stopped by the time limit after depth {cert.depth_done}"
        )
        console.print(f"certificate ({state}): {bound.describe()}")
        console.print(
            f"  {cert.schedules} schedules, {cert.states} distinct states, {cert.pruned} "
            f"pruned, {cert.seconds:.1f} s"
        )
        for version, found in data["versions"].items():
            if isinstance(found, str):
                console.print(f"  {version}: {found}")
                continue
            for key, info in found.items():
                console.print(
                    f"  {escape(key):<40} shortest {info['steps']} steps: "
                    f"{args.out / (info['case'] + '.json')}"
                )
        console.print(f"certificate: {args.out / 'certificate.json'}")
    return data


# ---------------------------------------------------------------------- coverage


def run_coverage(
    console: Console, corpus: list[Path], html: Path | None, versions: list[str]
) -> float:
    """Line and branch coverage of sim/ and impls/ reached by replaying the corpus, measured by
    replaying it under `coverage run` in a child process (the only way module-level lines count,
    and what ../shared/notes/fuzzing-toolchain.md recommends over in-process coverage)."""
    import subprocess
    import sys
    import tempfile

    from pagefuzz._replay import collect_case_files

    files = collect_case_files(corpus)
    for path in files:
        load_case(path)  # bad input is refused before anything runs
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / ".coverage")
        base = [sys.executable, "-m", "coverage"]
        impl_args = [arg for v in versions for arg in ("--impl", v)]
        subprocess.run(
            [
                *base,
                "run",
                "--branch",
                "--source=sim,impls",
                f"--data-file={data}",
                "-m",
                "pagefuzz",
                "replay",
                "--json",
                *map(str, files),
                *impl_args,
            ],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        report = subprocess.run(
            [*base, "report", f"--data-file={data}"], capture_output=True, text=True, check=False
        )
        console.out(report.stdout, end="")
        total = subprocess.run(
            [*base, "report", "--format=total", f"--data-file={data}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if html is not None:
            subprocess.run(
                [*base, "html", f"--data-file={data}", "-d", str(html)],
                capture_output=True,
                check=False,
            )
            console.print(f"HTML report: {html / 'index.html'}")
    console.print(f"{len(files)} cases; coverage of sim/ and impls/ (lines and branches): {total}%")
    return float(total or 0)


__all__ = [
    "expect_for",
    "run_coverage",
    "run_explore",
    "run_fuzz",
    "run_minimize",
    "run_triage",
]
