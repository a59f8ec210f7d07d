"""What the corpus and the evidence say, as data: the report's facts before any rendering.

Inputs, all committed so that the report is reproducible: the minimal cases in
`corpus/findings/`, campaign summaries in `evidence/campaigns/`, explore certificates in
`evidence/certificates/`, and the versions' sources. Every case is evaluated
(`oracle.evaluate.evaluate`) while the report is written, nothing is copied from an earlier
report: a change to the world, a version or the oracle shows up as a changed report.
`_report_markdown` and `_report_html` render a `Report`; nothing here formats text for a reader.
"""

from __future__ import annotations

import difflib
import inspect
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from pagefuzz._casefile import CaseFileError, collect_case_files, load_case
from pagefuzz._minimize import sanitise
from pagefuzz.fuzz.campaign.known import case_name
from pagefuzz.fuzz.campaign.summary import CampaignSummary
from pagefuzz.fuzz.versions.resolve import resolve_recorded, versions_of
from pagefuzz.fuzz.versions.spec import VersionLoadError
from pagefuzz.impls.registry import get_version
from pagefuzz.oracle import Violation
from pagefuzz.oracle.checks import stormed_iocbs
from pagefuzz.oracle.evaluate import Evaluation, FindingKey, evaluate
from pagefuzz.oracle.verdict import OBSERVABLE_KINDS
from pagefuzz.sim import Case, RunRecord
from pagefuzz.sim.events import EventKind

REPORT_VERSIONS: Final = ("pre", "post", "recheck-locked", "fixed")
#: The consequences for post that section 5 of kernel-model.md (the project's kernel-semantics
#: spec, kept outside this repository) derives by hand from the seed, each with the hand-traced
#: example case that shows it (tests/test_golden.py has the working).
PREDICTIONS: Final = (
    (
        "a batch reaching `last` sets `next > last`: only its first page is written out, one page "
        "of progress per wait-phase call",
        "corpus/examples/post-two-page-last1.json",
    ),
    (
        "a page found without mapping after the lookup: `curr = next` credits the rest of the "
        "batch",
        "corpus/examples/post-unmapped-credits-batch.json",
    ),
    (
        "`pos` not page-aligned, first page under writeback: negative `bytes` clamped to "
        "`count` by the unsigned compare",
        "corpus/examples/post-unaligned-clamp.json",
    ),
    (
        "the range's own page gone, a later page present: the lookup returns a page beyond `last`, "
        "waited on and credited",
        "corpus/examples/post-lookup-beyond-last.json",
    ),
)
#: The modelling choices the sources leave open (`lookup_next`, `filtered_wakeups`), each
#: finding replayed under every one.
CHOICES: Final = (("last+1", False), ("last+1", True), ("cursor", False), ("cursor", True))
#: The events drawn in lanes: the observable ones the differential aligns on.
LANE_KINDS: Final = OBSERVABLE_KINDS - {EventKind.START, EventKind.SKIP}

#: Explore certificates by name (their JSON as read).
Evidence = list[tuple[str, dict[str, Any]]]
#: Campaign summaries by name, read through their typed class.
Campaigns = list[tuple[str, CampaignSummary]]


@dataclass
class Finding:
    """One finding of the corpus: its key, the minimal case that shows it (and its file), the
    case evaluated in every REPORT_VERSIONS, which versions show the same check for the same
    kind of request on it, and whether it still shows under each modelling choice."""

    key: FindingKey
    path: Path
    case: Case
    evaluation: Evaluation
    shown_by: dict[str, bool]
    holds_under: dict[tuple[str, bool], bool]

    @property
    def version(self) -> str:
        return self.key.version

    @property
    def check(self) -> str:
        return self.key.check

    @property
    def records(self) -> dict[str, RunRecord]:
        return self.evaluation.records


@dataclass(frozen=True)
class Prediction:
    """One of the spec's predictions for post: its words, its example, the checks post and
    fixed violate on the example now, and the findings of the same check and kind."""

    text: str
    example: str
    post_checks: tuple[str, ...]
    fixed_checks: tuple[str, ...]
    findings: tuple[FindingKey, ...]


@dataclass
class Report:
    """Everything the report says, as data."""

    findings: list[Finding]
    campaigns: Campaigns
    certificates: Evidence
    corpus_cases: int
    fixed_passes: int
    predictions: list[Prediction]
    fixed_diff: list[str]
    #: The July 2004 era's chapter (pagefuzz/_report_july.py).
    july: Any = None

    def found_by(self) -> dict[FindingKey, list[str]]:
        """Finding -> "engine executions (campaign)" for each campaign that found it."""
        found: dict[FindingKey, list[str]] = {}
        for name, summary in self.campaigns:
            for line in summary.findings:
                found.setdefault(line.key, []).append(
                    f"{summary.engine} {line.first_seen_executions} ({name})"
                )
        return found


def promoted_name(key: FindingKey) -> str:
    """The name `triage --promote` gives the corpus case of a finding: `<key>-<sig6>`, the key
    as `version-check-kind` (a version from outside the package by the slug of its name,
    `c-fix.c`) and the first 6 digits of its signature."""
    return sanitise(case_name(key, key.signature[:6]))


def load_findings(corpus: Path, root: Path) -> list[Finding]:
    """One finding per case in corpus/findings: the finding the case shows whose promoted name
    is the case's (the name holds the key's signature, so no other finding can match it)."""
    findings = []
    directory = corpus / "findings"
    files = collect_case_files([directory]) if directory.exists() else []
    for path in files:
        case = replace(load_case(path), expect=None)
        if case.config.era != "2004-01":
            continue  # the July 2004 era's findings have a chapter of their own (_report_july)
        # The project's versions, and any version from outside the package the finding was
        # found with (a user's fix promoted into the corpus: run in its fork server).
        try:
            recorded, _ = resolve_recorded(case.versions)
        except VersionLoadError as exc:
            raise CaseFileError(f"{path}: versions: {exc}") from None
        versions = [*REPORT_VERSIONS, *(v for v in recorded if v not in REPORT_VERSIONS)]
        evaluation = evaluate(case, versions_of(versions))
        key = next((k for k in evaluation.keys if promoted_name(k) == case.name), None)
        if key is None:
            continue  # no longer a finding: the report says so through the summary counts
        shown = {
            v: any(
                (k.check, k.kind) == (key.check, key.kind)
                for k in evaluation.keys
                if k.version == v
            )
            for v in versions
        }
        holds = {}
        for rule, filtered in CHOICES:
            config = replace(case.config, lookup_next=rule, filtered_wakeups=filtered)
            variant = replace(case, config=config)
            holds[(rule, filtered)] = key in evaluate(variant, versions_of([key.version])).keys
        findings.append(Finding(key, path.relative_to(root), case, evaluation, shown, holds))
    return sorted(findings, key=lambda f: f.key)


def load_json_dir(directory: Path) -> Evidence:
    """Every *.json of an evidence directory, by name, in name order."""
    out = []
    if directory.exists():
        for path in sorted(directory.glob("*.json")):
            try:
                out.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError) as exc:
                raise CaseFileError(f"{path}: unreadable: {exc}") from None
    return out


def load_campaigns(directory: Path) -> Campaigns:
    """Every campaign summary of a directory (`evidence/campaigns`), by name, in name order,
    read by `CampaignSummary.from_json` (finding keys parsed by `FindingKey.parse`)."""
    out = []
    for name, raw in load_json_dir(directory):
        try:
            out.append((name, CampaignSummary.from_json(raw)))
        except (KeyError, TypeError, ValueError) as exc:
            where = directory / f"{name}.json"
            raise CaseFileError(f"{where}: not a campaign summary: {exc!r}") from None
    return out


def corpus_passes(root: Path) -> tuple[int, int]:
    """(the seed era's corpus cases, those `fixed` passes): the answer's last line."""
    cases = [
        replace(load_case(path), expect=None) for path in collect_case_files([root / "corpus"])
    ]
    seed = [case for case in cases if case.config.era == "2004-01"]
    passes = sum(evaluate(case, [get_version("fixed")]).verdicts["fixed"].passed for case in seed)
    return len(seed), passes


def predictions(findings: list[Finding], root: Path) -> list[Prediction]:
    """Each prediction of the spec for post, replayed on its example now."""
    keys = {f.key for f in findings}
    out = []
    for text, example in PREDICTIONS:
        case = replace(load_case(root / example), expect=None)
        verdicts = evaluate(case, versions_of(["post", "fixed"])).verdicts
        post_checks = verdicts["post"].checks
        matching = tuple(
            k for k in (FindingKey("post", c, "aio_write") for c in post_checks) if k in keys
        )
        out.append(Prediction(text, example, post_checks, verdicts["fixed"].checks, matching))
    return out


def post_fixed_diff() -> list[str]:
    """The candidate fix's difference from post: their `operate_on_page_range`, unified."""
    post = inspect.getsource(type(get_version("post")).operate_on_page_range).splitlines()
    fixed = inspect.getsource(type(get_version("fixed")).operate_on_page_range).splitlines()
    return list(
        difflib.unified_diff(post, fixed, "impls/post.py", "impls/fixed.py", lineterm="", n=2)
    )


def gather(root: Path) -> Report:
    """The report's facts for the checkout at `root`."""
    from pagefuzz._report_july import gather_july

    findings = load_findings(root / "corpus", root)
    cases, passes = corpus_passes(root)
    campaigns = load_campaigns(root / "evidence" / "campaigns")
    certificates = load_json_dir(root / "evidence" / "certificates")
    seed_certificates = [(n, c) for n, c in certificates if not n.startswith("july-")]
    return Report(
        findings=findings,
        campaigns=campaigns,
        certificates=seed_certificates,
        july=gather_july(root, certificates, campaigns),
        corpus_cases=cases,
        fixed_passes=passes,
        predictions=predictions(findings, root),
        fixed_diff=post_fixed_diff(),
    )


def choice_lengths(choice_certs: Evidence) -> dict[FindingKey, dict[str, int]]:
    """Finding -> certificate name -> shortest counterexample's length, for the certificates
    explored under each modelling choice."""
    per: dict[FindingKey, dict[str, int]] = {}
    for name, cert in choice_certs:
        for found in cert.get("versions", {}).values():
            if isinstance(found, dict):
                for key, info in found.items():
                    per.setdefault(FindingKey.parse(key), {})[name] = int(info["steps"])
    return per


def violation_seq(record: RunRecord, violation: Violation) -> int | None:
    """The event a violation is about, where the record tells: the BUG itself, the progress
    report that counted unsynced pages, the settle bound a storm hit, or the request's
    completion. None for what is judged only at the end (hangs, leaks)."""
    if violation.check == "kernel_bug":
        return violation.seq  # the BUG's own (None for a lock or reference left at the end)
    if violation.check == "byte_count" and violation.evidence:
        # Only a progress report's over-count carries pages; they are among the pages it claimed.
        late = {(p.index, p.serial) for p in violation.evidence}
        for prog in record.progress:
            claimed = {(p.index, p.serial) for p in prog.pages}
            same = (prog.request, prog.step) == (violation.request, violation.step)
            if same and late <= claimed:
                return prog.seq
    if violation.check == "retry_bound" and violation.request in stormed_iocbs(record):
        # A storm is charged at the step whose settle bound stopped it: that bound's line.
        bounds = (
            e for e in record.events if e.kind == EventKind.BOUND and e.step == violation.step
        )
        storm = next(bounds, None)
        if storm is not None:
            return storm.seq
    request = next((r for r in record.requests if r.id == violation.request), None)
    if request is not None and request.completed_at == violation.step:
        return request.completed_seq
    return None
