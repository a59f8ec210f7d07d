"""The fuzzing subcommands' work: campaigns with a live view, minimise, triage, coverage."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

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
from sim import Case

#: Seconds between plain progress lines when not on a terminal.
PLAIN_PERIOD_S = 5.0


def _known_line(snap: dict[str, Any]) -> str:
    """`0 new · 14 of 20 known re-found`: what a campaign on a checkout has to show."""
    refound = len(snap["known_refound"])
    return f"{snap['new']} new · {refound} of {snap['known_total']} known re-found"


def _campaign_table(snap: dict[str, Any], engine: str, seconds: float) -> Table:
    table = Table(
        title=f"pagefuzz fuzz: {engine}, {snap['elapsed']:.0f}/{seconds:.0f} s, "
        f"{snap['executions']} executions, {snap['crashes']} crashes",
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
    findings = Table(title="new findings", title_justify="left")
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
    known = Table(
        title=f"known findings re-found ({len(snap['known_refound'])} of {snap['known_total']})",
        title_justify="left",
    )
    known.add_column("finding")
    known.add_column("first hit: executions", justify="right")
    known.add_column("seconds", justify="right")
    known.add_column("corpus file")
    for r in snap["known_refound"]:
        known.add_row(
            escape(r["key"]),
            str(r["first_seen_executions"]),
            f"{r['first_seen_s']:.2f}",
            escape(r["corpus_file"]),
        )
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(f"[bold]{_known_line(snap)}[/bold]")
    if snap["findings"]:
        outer.add_row(findings)
    outer.add_row(known)
    return outer


def summary_lines(summary: dict[str, Any], out: Path) -> list[str]:
    """The end of a campaign in plain lines: the count, the new findings, the known ones
    re-found (first hit) and not, where the answer is, and one command that replays a finding:
    the campaign's first new one, else the corpus file of the first known one re-found."""
    from fuzz.campaign import shown_path

    lines = [
        f"campaign {summary['status']}: {summary['executions']} executions in "
        f"{summary['seconds']:.1f} s ({summary['exec_per_s']:.0f}/s), "
        f"{summary['crashes']} crashes",
        _known_line(summary),
    ]
    findings = summary["findings"]
    if findings:
        lines.append(f"new findings (minimised into {shown_path(out / 'findings')}):")
    for f in findings:
        lines.append(
            f"  {f['signature']}  {f['key']:<40} first seen {f['first_seen_s']:.1f} s after "
            f"{f['first_seen_executions']} executions; {f['steps_found']} -> "
            f"{f['steps_minimized']} steps"
        )
    refound = summary["known_refound"]
    if refound:
        lines.append("known findings re-found (first hit: executions, seconds):")
    for r in refound:
        lines.append(
            f"  {r['key']:<40} {r['first_seen_executions']:>8} {r['first_seen_s']:>8.2f} s  "
            f"{r['corpus_file']}"
        )
    missed = summary["known_not_refound"]
    if missed:
        lines.append(f"known findings not re-found ({len(missed)}):")
    for m in missed:
        lines.append(f"  {m['key']:<40} {m['corpus_file']}")
    lines.append("what the findings mean: docs/findings.md")
    if findings:
        first = shown_path(out / "findings" / f"{findings[0]['signature']}.json")
        lines.append(f"replay one: pagefuzz replay {first}")
    elif refound:
        lines.append(f"replay one: pagefuzz replay {refound[0]['corpus_file']}")
    lines.append(f"summary: {shown_path(out / 'campaign.json')}")
    return lines


def run_fuzz(console: Console, campaign: Campaign, as_json: bool) -> dict[str, Any]:
    """Run a campaign with a live view on a terminal, periodic plain lines otherwise."""
    if console.is_terminal and not as_json:
        # Transient: the closing lines below say all the last frame said, and more.
        with Live(console=console, refresh_per_second=2, transient=True) as live:
            summary = campaign.run(
                lambda snap: live.update(_campaign_table(snap, campaign.engine, campaign.seconds))
            )
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
                    f"crashes={snap['crashes']} · {_known_line(snap)}"
                )

        summary = campaign.run(tick)
    if not as_json:
        for line in summary_lines(summary, campaign.out):
            console.print(escape(line))
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
    console: Console,
    path: Path,
    out: Path,
    versions: list[str],
    findings: list[str],
    raw_bytes: bool = False,
) -> Case:
    """Shrink any case pagefuzz writes (docs/replay.md lists them). A campaign finding or an
    explore counterexample keeps, by default, the finding it was recorded for; a plain case keeps
    every finding it shows. The result is named after OUT and its notes say where it came from:
    the source's name and notes no longer describe the smaller case."""
    from pagefuzz._artifacts import load_source

    source = load_source(path, raw_bytes)
    case = source.case
    evaluator = Evaluator(versions)
    shown = {f.key: f.signature for f in evaluator.evaluate(case).failures}
    recorded = source.key
    if not findings and recorded is not None and recorded in shown:
        findings = [recorded]
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
    if source.describe():
        console.print(f"from: {escape(source.describe())}")
    small, removed = minimize(case, evaluator, targets)
    keys = sorted(k for k, s in shown.items() if s in targets)
    small = replace(
        small,
        name=_sanitise(out.stem),
        notes=f"Minimised by pagefuzz from {path} ({len(case.steps)} -> {len(small.steps)} "
        f"steps), keeping {', '.join(keys)}.",
        expect=expect_for(small, versions),
    )
    write_json_atomic(out, small.to_json())
    console.print(f"kept: {', '.join(keys)}")
    console.print(f"{len(case.steps)} -> {len(small.steps)} steps; removed:")
    for line in removed:
        console.print(f"  - {escape(line)}")
    console.print(f"wrote {out}")
    return small


# ---------------------------------------------------------------------- triage


@dataclass
class Group:
    """One finding of a triage: every file that shows it, its minimal case, and what each
    version does on that minimal case (the checks it fails), which is what a reader needs to
    tell who is wrong; a single differential label in the seed's direction read as the
    opposite of the truth when the finding's own version still fails."""

    signature: str
    key: str
    sources: list[str]
    case: Case
    flaky: bool = False
    crash: bool = False
    checks: dict[str, list[str]] = field(default_factory=dict)
    differentials: dict[str, str] = field(default_factory=dict)

    def checks_text(self) -> str:
        """`pre: completion,kernel_bug · post: completion · recheck-locked: pass`."""
        if self.crash:
            return "harness crash"
        return " · ".join(f"{v}: {','.join(c) or 'pass'}" for v, c in self.checks.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "key": self.key,
            "checks": self.checks,
            "differential": self.differentials,
            "crash": self.crash,
            "flaky": self.flaky,
            "files": self.sources,
            "case": self.case.to_json(),
        }


def _sanitise(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:80] or "finding"


@dataclass
class Triage:
    """What `triage` found, which files it could not read, and which promotions it refused."""

    groups: list[Group]
    unreadable: list[str]
    refused: list[Path]


def run_triage(
    console: Console,
    paths: list[Path],
    versions: list[str],
    promote: Path | None,
    trace: bool,
    repeats: int = 3,
    replace_existing: bool = False,
) -> Triage:
    """Replay every finding file (any kind pagefuzz writes; raw ones included), group by
    signature, minimise each group, and show per version the checks it fails on the minimal
    case. An unreadable file is reported and skipped: the others' findings are not lost."""
    from pagefuzz._artifacts import collect_sources, load_source

    files = collect_sources(paths, include_raw=True)
    evaluator = Evaluator(versions)
    groups: dict[str, Group] = {}
    bad: list[str] = []
    for path in files:
        try:
            case = load_source(path).case
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
                sig, Group(sig, f"crash/{type(exc).__name__}", [], case, crash=True)
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
        outcome = replay_case(replace(group.case, expect=None), versions)
        group.checks = {v: list(verdict.checks) for v, verdict in outcome.verdicts.items()}
        group.differentials = {f"{d.pair[0]}/{d.pair[1]}": d.cls for d in outcome.differentials}
    table = Table(title=f"triage: {len(files)} files, {len(groups)} findings")
    table.add_column("signature", no_wrap=True)
    table.add_column("finding", no_wrap=True)
    for version in versions:  # what each version fails on the minimal case: who is wrong
        table.add_column(version)
    table.add_column("steps", justify="right")
    table.add_column("files", justify="right")
    table.add_column("flaky")
    ordered = sorted(groups.values(), key=lambda g: g.key)
    for g in ordered:
        table.add_row(
            g.signature,
            escape(g.key),
            *("crash" if g.crash else "\n".join(g.checks.get(v, [])) or "pass" for v in versions),
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
        console.print(f"[bold]{g.signature}[/bold] {escape(g.key)}: {len(g.case.steps)} steps")
        if trace:
            outcome = replay_case(g.case, versions)
            print_timelines(console, outcome.records)
    refused: list[Path] = []
    if promote is not None:
        for g in ordered:
            if not g.crash and not _promote(console, g, promote, versions, replace_existing):
                refused.append(promote / f"{g.case.name}.json")
    return Triage(ordered, bad, refused)


#: Lines of a refused promotion's diff shown before the rest is cut.
PROMOTE_DIFF_LINES: Final = 40


def _merge_expect(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """Keep the old expect's entries for versions this triage did not run (a case promoted for
    `fixed` keeps its `fixed` entry when triage ran the seed's versions only), in the old
    order, so that the shown difference is only what changed."""
    if not old:
        return new
    ran = set(new.get("checks", {}))
    merged: dict[str, Any] = {}
    for part in ("checks", "differential"):
        fresh: dict[str, Any] = new.get(part, {})
        kept: dict[str, Any] = {}
        for key, value in old.get(part, {}).items():
            if key in fresh:
                kept[key] = fresh[key]
            elif any(v not in ran for v in key.split("/")):
                kept[key] = value
        kept.update((k, v) for k, v in fresh.items() if k not in kept)
        merged[part] = kept
    return merged


def _promote(
    console: Console, group: Group, corpus: Path, versions: list[str], replace_existing: bool
) -> bool:
    """Write the group's minimal case into the corpus. A case already there is never replaced
    without `replace_existing`: the difference is shown instead, and False returned."""
    import difflib

    failing = [f"{v} fails {','.join(c)}" for v, c in group.checks.items() if c]
    target = corpus / f"{group.case.name}.json"
    old_text: str | None = None
    old_expect: dict[str, Any] | None = None
    if target.exists():
        try:
            old_text = target.read_text(encoding="utf-8")
            old_expect = load_case(target).expect
        except (OSError, UnicodeDecodeError, CaseFileError):
            old_expect = None
    case = replace(
        group.case,
        notes=f"Found by pagefuzz: {group.key}. On this minimal case "
        f"{'; '.join(failing) or 'no version fails'}.",
        expect=_merge_expect(expect_for(group.case, versions), old_expect),
    )
    new_text = json.dumps(case.to_json(), indent=1) + "\n"
    if old_text is not None:
        if old_text == new_text:
            console.print(f"unchanged {target}")
            return True
        if not replace_existing:
            diff = list(
                difflib.unified_diff(
                    old_text.splitlines(),
                    new_text.splitlines(),
                    f"{target} (in the corpus)",
                    f"{target} (this triage)",
                    lineterm="",
                )
            )
            console.print(
                f"[yellow]not replaced[/yellow] {target}: it differs from what this triage "
                "would write (pass --replace to overwrite it):"
            )
            for line in diff[:PROMOTE_DIFF_LINES]:
                console.print(f"  {escape(line)}")
            if len(diff) > PROMOTE_DIFF_LINES:
                console.print(f"  ... {len(diff) - PROMOTE_DIFF_LINES} more lines")
            return False
    write_json_atomic(target, case.to_json())
    console.print(f"{'replaced' if old_text is not None else 'promoted'} {target}")
    return True


# ---------------------------------------------------------------------- explore


def run_explore(console: Console, versions: list[str], args: Any, ops: list[str]) -> dict[str, Any]:
    """Explore with a progress bar (states/s, the level being closed) on a terminal, plain lines
    otherwise (one per length closed, one every PLAIN_PERIOD_S), and write the certificate and
    one case file per shortest counterexample into args.out."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from fuzz.explore import Bound, ExploreInterrupted, explore

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
    plain = not console.is_terminal and not args.json
    depth = [0]  # the length being explored: one more each time a length's last schedule is done
    last_line = [started]
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("explore", total=1, depth=0, states=0, rate=0.0)

        def progress(cert: Any, done: int, total: int) -> None:
            now = time.monotonic()
            rate = cert.states / max(now - started, 1e-9)
            bar.update(
                task, completed=done, total=total, depth=depth[0], states=cert.states, rate=rate
            )
            if plain and done == total:
                console.print(
                    f"explore: depth {depth[0]} closed, {cert.schedules} schedules, "
                    f"{cert.states} states, {now - started:.1f} s"
                )
                last_line[0] = now
            elif plain and now - last_line[0] >= PLAIN_PERIOD_S:
                console.print(
                    f"explore: depth {depth[0]}, {done}/{total} schedules of this length, "
                    f"{cert.states} states, {rate:.0f} states/s"
                )
                last_line[0] = now
            if done == total:
                depth[0] += 1

        try:
            cert = explore(
                bound, versions, time.monotonic, progress, args.time_limit, prune=not args.no_prune
            )
        except ExploreInterrupted as stop:  # Ctrl-C: keep what was judged, as a time limit does
            cert = stop.certificate
    # An earlier exploration's files would sit beside a certificate that does not list them:
    # remove exactly the names explore writes, never anything else of the user's.
    args.out.mkdir(parents=True, exist_ok=True)
    earlier = [
        p for p in [*args.out.glob("shortest-*.json"), args.out / "certificate.json"] if p.is_file()
    ]
    for path in earlier:
        path.unlink()
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
        if earlier:
            files = f"{len(earlier)} file{'' if len(earlier) == 1 else 's'}"
            console.print(f"replaced {files} an earlier exploration wrote in {args.out}")
        if cert.complete:
            state = "complete"
        elif cert.interrupted:
            state = f"interrupted after depth {cert.depth_done} was closed"
        else:
            state = f"stopped by the time limit after depth {cert.depth_done}"
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

    for path in corpus:  # named like `fuzz --corpus` names it, not as an unreadable case file
        if not path.exists():
            raise CaseFileError(f"CORPUS: {path}: no such file or directory")
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
