"""`pagefuzz triage`: replay every finding file (flagging a replay that differs as flaky), group
the files by finding, minimise each group, show per version the checks it fails on the minimal
case, and promote the minimal cases into the corpus without overwriting a different case unless
told to. Every run goes through `oracle.evaluate.evaluate`; every `expect` written is its
`Evaluation.expect_block()`."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pagefuzz._artifacts import collect_sources, load_source
from pagefuzz._casefile import CaseFileError, load_case
from pagefuzz._minimize import sanitise
from pagefuzz._output import print_timelines
from pagefuzz.fuzz.campaign.known import case_name
from pagefuzz.fuzz.campaign.minimize import minimize
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.fuzz.versions.resolve import records_of, versions_of
from pagefuzz.oracle import signature_of
from pagefuzz.oracle.evaluate import Evaluation, FindingKey, evaluate
from pagefuzz.sim import Case
from pagefuzz.sim.case import split_pair

#: Lines of a refused promotion's diff shown before the rest is cut.
PROMOTE_DIFF_LINES: Final = 40


@dataclass
class Group:
    """One finding of a triage: every file that shows it, its minimal case, and what each
    version does on that minimal case (the checks it fails), which is what a reader needs to
    tell who is wrong; a single differential label in the seed's direction read as the
    opposite of the truth when the finding's own version still fails. A harness crash on an
    input is a group of its own, keyed by the exception's type (`crash`), with no finding."""

    signature: str
    key: FindingKey | None
    sources: list[str]
    case: Case
    flaky: bool = False
    crash: str = ""
    #: The minimal case's evaluation, and the `expect` block that holds for it.
    evaluation: Evaluation | None = None
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`post/completion/aio_write`, or `crash/TypeError` for a harness crash."""
        return f"crash/{self.crash}" if self.crash else str(self.key)

    @property
    def checks(self) -> dict[str, list[str]]:
        checks: dict[str, list[str]] = self.expect.get("checks", {})
        return checks

    @property
    def differentials(self) -> dict[str, str]:
        differentials: dict[str, str] = self.expect.get("differential", {})
        return differentials

    def checks_text(self) -> str:
        """`pre: completion,kernel_bug · post: completion · recheck-locked: pass`."""
        if self.crash:
            return "harness crash"
        return " · ".join(f"{v}: {','.join(c) or 'pass'}" for v, c in self.checks.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "key": self.label,
            "checks": self.checks,
            "differential": self.differentials,
            "crash": bool(self.crash),
            "flaky": self.flaky,
            "files": self.sources,
            "case": self.case.to_json(),
        }


@dataclass
class Triage:
    """What `triage` found, which files it could not read, and which promotions it refused."""

    groups: list[Group]
    unreadable: list[str]
    refused: list[Path]


def run_triage(
    console: Console,
    paths: list[Path],
    versions: Sequence[str],
    promote: Path | None,
    trace: bool,
    repeats: int = 3,
    replace_existing: bool = False,
) -> Triage:
    """Replay every finding file (any kind pagefuzz writes; raw ones included), group by
    signature, minimise each group, and show per version the checks it fails on the minimal
    case. An unreadable file is reported and skipped: the others' findings are not lost."""
    files = collect_sources(paths, include_raw=True)
    groups, bad = _group(files, versions, repeats)
    evaluator = Evaluator(list(versions))
    for group in groups.values():
        if group.crash or group.key is None:
            continue
        small, _ = minimize(group.case, evaluator, frozenset({group.signature}))
        name = sanitise(case_name(group.key, group.signature[:6]))
        group.case = replace(small, name=name, versions=records_of(versions))
        group.evaluation = evaluate(group.case, versions_of(versions))
        group.expect = group.evaluation.expect_block()
    ordered = sorted(groups.values(), key=lambda g: g.label)
    _print_table(console, ordered, versions, len(files))
    for line in bad:
        console.print(f"[red]skipped:[/red] {escape(line)}")
    for g in ordered:
        if g.evaluation is None:
            continue
        console.print(f"[bold]{g.signature}[/bold] {escape(g.label)}: {len(g.case.steps)} steps")
        if trace:
            print_timelines(console, g.evaluation.records)
    refused: list[Path] = []
    if promote is not None:
        for g in ordered:
            if g.evaluation is not None and not _promote(console, g, promote, replace_existing):
                refused.append(promote / f"{g.case.name}.json")
    return Triage(ordered, bad, refused)


def _group(
    files: list[Path], versions: Sequence[str], repeats: int
) -> tuple[dict[str, Group], list[str]]:
    """The files' findings by signature (each group keeps its shortest case), and the lines of
    the files that could not be read. Each case is evaluated `repeats` times: a replay that
    differs makes its groups FLAKY (the world is deterministic: this would be a harness bug)."""
    groups: dict[str, Group] = {}
    bad: list[str] = []
    for path in files:
        try:
            case = load_source(path).case
        except CaseFileError as exc:
            bad.append(str(exc))
            continue
        try:
            bare = replace(case, expect=None)  # its expect is for the case it came from
            evaluations = [evaluate(bare, versions_of(versions)) for _ in range(repeats)]
            runs = {json.dumps(e.to_json(), sort_keys=True) for e in evaluations}
        except Exception as exc:  # a harness error on this input: a crash group of its own
            crash = type(exc).__name__
            sig = signature_of(f"crash/{crash}")
            group = groups.setdefault(sig, Group(sig, None, [], case, crash=crash))
            group.sources.append(str(path))
            continue
        for failure in evaluations[0].failures:
            group = groups.setdefault(
                failure.signature, Group(failure.signature, failure.key, [], case)
            )
            group.sources.append(str(path))
            group.flaky |= len(runs) > 1
            if len(case.steps) < len(group.case.steps):
                group.case = case
    return groups, bad


def _print_table(
    console: Console, groups: list[Group], versions: Sequence[str], files: int
) -> None:
    table = Table(title=f"triage: {files} files, {len(groups)} findings")
    table.add_column("signature", no_wrap=True)
    table.add_column("finding", no_wrap=True)
    for version in versions:  # what each version fails on the minimal case: who is wrong
        table.add_column(version)
    table.add_column("steps", justify="right")
    table.add_column("files", justify="right")
    table.add_column("flaky")
    for g in groups:
        table.add_row(
            g.signature,
            escape(g.label),
            *("crash" if g.crash else "\n".join(g.checks.get(v, [])) or "pass" for v in versions),
            str(len(g.case.steps)),
            str(len(g.sources)),
            "FLAKY" if g.flaky else "",
        )
    console.print(table)


def merge_expect(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
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
        for entry, value in old.get(part, {}).items():
            if entry in fresh:
                kept[entry] = fresh[entry]
            elif any(v not in ran for v in split_pair(entry) or (entry,)):  # a version, or a/b
                kept[entry] = value
        kept.update((k, v) for k, v in fresh.items() if k not in kept)
        merged[part] = kept
    return merged


def _promote(console: Console, group: Group, corpus: Path, replace_existing: bool) -> bool:
    """Write the group's minimal case into the corpus. A case already there is never replaced
    without `replace_existing`: the difference is shown instead, and False returned."""
    failing = [f"{v} fails {','.join(c)}" for v, c in group.checks.items() if c]
    target = corpus / f"{group.case.name}.json"
    old_text: str | None = None
    old_expect: dict[str, Any] | None = None
    if target.exists():
        try:
            old_text = target.read_text(encoding="utf-8")
            old = load_case(target)
        except (OSError, UnicodeDecodeError, CaseFileError):
            old = None
        if old is not None:
            old_expect = old.expect
            if not replace_existing and _still_shows(old, group):
                # The corpus already holds this finding, in words and names of its own: that
                # is not a difference worth refusing over.
                console.print(f"kept {target}: it already shows {escape(group.label)}")
                return True
    case = replace(
        group.case,
        notes=f"Found by pagefuzz: {group.label}. On this minimal case "
        f"{'; '.join(failing) or 'no version fails'}.",
        expect=merge_expect(group.expect, old_expect),
    )
    new_text = json.dumps(case.to_json(), indent=1) + "\n"
    if old_text is not None:
        if old_text == new_text:
            console.print(f"unchanged {target}")
            return True
        if not replace_existing:
            _show_refusal(console, target, old_text, new_text)
            return False
    write_json_atomic(target, case.to_json())
    console.print(f"{'replaced' if old_text is not None else 'promoted'} {target}")
    return True


def _still_shows(old: Case, group: Group) -> bool:
    """The corpus case still shows the group's finding, and its `expect` still holds, in the
    versions this triage ran."""
    assert group.evaluation is not None
    evaluation = evaluate(old, versions_of(list(group.evaluation.records)))
    shown = {f.signature for f in evaluation.failures}
    return group.signature in shown and evaluation.expectation_ok


def _show_refusal(console: Console, target: Path, old_text: str, new_text: str) -> None:
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
