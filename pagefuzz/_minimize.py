"""`pagefuzz minimize`: choose the findings a case must keep, shrink it (`fuzz.minimize`), and
write the smaller case with the notes that say where it came from and the `expect` block that
holds for it now (`Evaluation.expect_block`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from pagefuzz._artifacts import load_source
from pagefuzz._casefile import CaseFileError
from pagefuzz.fuzz.campaign.minimize import minimize
from pagefuzz.fuzz.campaign.target import Evaluator
from pagefuzz.fuzz.files import write_json_atomic
from pagefuzz.fuzz.versions.resolve import records_of, versions_of
from pagefuzz.oracle.evaluate import FindingKey, evaluate
from pagefuzz.sim import Case


def sanitise(name: str) -> str:
    """A case name (and file stem) from anything: letters, digits, `_ . -`, at most 80."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:80] or "finding"


def run_minimize(
    console: Console,
    path: Path,
    out: Path,
    versions: Sequence[str],
    findings: Sequence[FindingKey] = (),
    raw_bytes: bool = False,
) -> Case:
    """Shrink any case pagefuzz writes (docs/replay.md lists them). A campaign finding or an
    explore counterexample keeps, by default, the finding it was recorded for; a plain case keeps
    every finding it shows. The result is named after OUT and its notes say where it came from:
    the source's name and notes no longer describe the smaller case."""
    source = load_source(path, raw_bytes)
    case = source.case
    shown = {f.key: f.signature for f in evaluate(case, versions_of(versions)).failures}
    wanted = list(findings)
    if not wanted and source.key is not None and source.key in shown:
        wanted = [source.key]
    if wanted:
        missing = [str(k) for k in wanted if k not in shown]
        if missing:
            raise CaseFileError(
                f"{path}: does not show {', '.join(missing)}; it shows "
                f"{', '.join(str(k) for k in sorted(shown)) or 'no violation'}"
            )
        targets = frozenset(shown[k] for k in wanted)
    else:
        targets = frozenset(shown.values())
    if not targets:
        raise CaseFileError(f"{path}: no version violates anything here: nothing to keep")
    if source.describe():
        console.print(f"from: {escape(source.describe())}")
    small, removed = minimize(case, Evaluator(list(versions)), targets)
    kept = ", ".join(str(k) for k in sorted(k for k, s in shown.items() if s in targets))
    small = replace(
        small,
        name=sanitise(out.stem),
        notes=f"Minimised by pagefuzz from {path} ({len(case.steps)} -> {len(small.steps)} "
        f"steps), keeping {kept}.",
        expect=evaluate(small, versions_of(versions)).expect_block(),
        versions=records_of(versions),
    )
    write_json_atomic(out, small.to_json())
    console.print(f"kept: {kept}")
    console.print(f"{len(case.steps)} -> {len(small.steps)} steps; removed:")
    for line in removed:
        console.print(f"  - {escape(line)}")
    console.print(f"wrote {out}")
    return small
